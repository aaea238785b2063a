"""ONNX Runtime sessions, created once per model and shared by every thread.

``InferenceSession.run`` is thread-safe. Settings follow what suits a small CPU serving images of
varying size: a hard thread cap, one inter-op thread, sequential execution, full graph
optimisation, and the CPU memory arena and memory patterns off, because with OCR's ever-changing
shapes the arena keeps every peak it has seen and RSS only grows. Spinning is off so idle worker
threads do not burn the CPU a daemon shares with everything else on the device.
"""
from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from .errors import ModelPackError


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
    try:
        return ort.InferenceSession(str(model_path), sess_options=session_options(threads, memory_arena),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for bad graphs
        raise ModelPackError(f"{model_path}: ONNX Runtime cannot load this model: {exc}") from None
