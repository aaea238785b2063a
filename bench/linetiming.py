"""The recognizer latency loop every benchmark uses, so their per-line numbers mean the same thing."""
from __future__ import annotations

import time

import numpy as np

BATCH_SIZE = 16


def time_recognizer(recognizer, line: np.ndarray, runs: int, batch_lines: int,
                    batch_runs: int) -> tuple[list[float], list[float]]:
    """Seconds per call: ``line`` alone (``runs`` times), then ``batch_lines`` copies of it in
    batches of 16 (``batch_runs`` times). Each is warmed up once first, so graph set-up and first
    allocations stay out of the samples."""
    recognizer.recognize([line], 1)
    single = []
    for _ in range(runs):
        started = time.perf_counter()
        recognizer.recognize([line], 1)
        single.append(time.perf_counter() - started)
    batch = [line] * batch_lines
    recognizer.recognize(batch, BATCH_SIZE)
    batched = []
    for _ in range(batch_runs):
        started = time.perf_counter()
        recognizer.recognize(batch, BATCH_SIZE)
        batched.append(time.perf_counter() - started)
    return single, batched
