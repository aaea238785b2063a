"""bench/calibrate_fast_path.py: the logistic fit and the rule that picks the threshold."""
from __future__ import annotations

import numpy as np

from bench.calibrate_fast_path import choose, fit_logistic


def test_the_fit_puts_sure_readings_above_doubtful_ones():
    rng = np.random.default_rng(1)
    mean_log = rng.uniform(-2.0, 0.0, 400)
    min_log = mean_log * 2 + rng.normal(0, 0.1, 400)
    labels = (mean_log > -0.5).astype(float)
    bias, w_mean, w_min = fit_logistic(np.stack([mean_log, min_log], axis=1), labels)
    p = 1 / (1 + np.exp(-(bias + w_mean * mean_log + w_min * min_log)))
    assert p[labels == 1].mean() > 0.8 > 0.2 > p[labels == 0].mean()


def row(threshold, exact, fast_cer, accurate_cer, foreign=0):
    return {"threshold": threshold, "taken_exact": exact, "taken_fast_cer": fast_cer,
            "taken_accurate_cer": accurate_cer, "foreign_taken": foreign}


def test_the_lowest_threshold_that_loses_nothing_and_takes_no_chinese_is_picked():
    rows = [row(0.5, 0.90, 0.010, 0.012),          # not exact often enough
            row(0.8, 0.98, 0.004, 0.012, foreign=1),  # took a Chinese line
            row(0.9, 0.98, 0.015, 0.012),          # worse than the accurate recognizer on what it takes
            row(0.95, 0.99, 0.001, 0.010),
            row(0.97, 1.00, 0.000, 0.010)]
    assert choose(rows, 0.97)["threshold"] == 0.95
    assert choose(rows[:3], 0.97)["threshold"] == 0.9  # none qualifies: the strictest is kept
