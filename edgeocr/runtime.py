"""ONNX Runtime sessions, created once per model and shared by every thread.

``InferenceSession.run`` is thread-safe. Settings follow what suits a small CPU serving images of
varying size: a hard thread cap, one inter-op thread, sequential execution, full graph
optimisation, and the CPU memory arena and memory patterns off, because with OCR's ever-changing
shapes the arena keeps every peak it has seen and RSS only grows. Spinning is off so idle worker
threads do not burn the CPU a daemon shares with everything else on the device.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from pathlib import Path

import onnxruntime as ort

from .errors import ModelPackError

# glibc's mallopt parameter for the number of malloc arenas (malloc.h: M_ARENA_MAX).
M_ARENA_MAX = -8
MALLOC_ARENAS = 2


@functools.cache
def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas, unless ``MALLOC_ARENA_MAX`` is set; True when the cap was set.

    Each thread that allocates may get an arena of its own (up to 8 per core), and freed line
    tensors stay in the arena that held them: with recognizer lanes, ORT's threads and the web's,
    peak RSS over 50 SROIE-dev receipts was 358 MiB with glibc's default and 282 MiB with two.
    A no-op off glibc (musl, macOS) and where the user chose a value. Done once per process:
    every session creation asks, and the answer does not change.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))


def session_options(threads: int, memory_arena: bool = False) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = memory_arena
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def create_session(model_path: Path, threads: int, memory_arena: bool = False) -> ort.InferenceSession:
    limit_malloc_arenas()
    try:
        return ort.InferenceSession(str(model_path), sess_options=session_options(threads, memory_arena),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for bad graphs
        raise ModelPackError(f"{model_path}: ONNX Runtime cannot load this model: {exc}") from None
