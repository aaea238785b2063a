"""The fast path: our small CRNN reads the lines it is sure of, the accurate recognizer the rest.

Every line goes first to the fast recognizer, batched. A line is kept from it only when all of
these hold, and otherwise goes, batched with the other refused lines, to the accurate recognizer:

- it read something, and nothing it marks as another script (``FOREIGN_MARK``, which the fast
  pack is trained to emit for hanzi and the like), so Chinese lines are never captured;
- the crop's aspect (width / height) is between ``min_aspect`` and ``max_aspect``: a lone glyph or
  a box standing on end is where a small model's confidence means least;
- its calibrated confidence clears ``threshold``.

The calibration is a logistic model of "the line is read exactly right" on two features of the
fast reading, fitted on rendered held-out lines (``bench/calibrate_fast_path.py``) and stored with
the threshold in the fast pack's ``pack.yaml`` (``recognizer.fast_path``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .ctc import DecodedText
from .errors import ModelPackError
from .recognize import Recognizer

# U+FFFD REPLACEMENT CHARACTER, "a character this charset cannot represent": the fast pack's
# last class, which it is trained to read for every character of another script.
FOREIGN_MARK = "\ufffd"


@dataclass(frozen=True)
class FastPathParams:
    threshold: float
    # Logistic calibration: p = sigmoid(bias + w_mean * log(geometric-mean prob) + w_min * log(min prob));
    # None compares the reading's own confidence (the geometric mean) with the threshold.
    calibration: tuple[float, float, float] | None = None
    min_aspect: float = 1.5
    max_aspect: float = 60.0

    @classmethod
    def from_pack(cls, settings: dict[str, Any], where: str, threshold: float | None = None) -> "FastPathParams":
        if not settings and threshold is None:
            raise ModelPackError(f"{where}: no recognizer.fast_path settings (threshold, calibration); "
                                 f"this pack was not calibrated as a fast path")
        try:
            calibration = settings.get("calibration")
            params = cls(threshold=float(settings["threshold"] if threshold is None else threshold),
                         calibration=None if calibration is None else tuple(float(v) for v in calibration),
                         min_aspect=float(settings.get("min_aspect", 1.5)),
                         max_aspect=float(settings.get("max_aspect", 60.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelPackError(f"{where}: recognizer.fast_path is not valid: {exc}") from None
        if (params.calibration is not None and len(params.calibration) != 3) or not 0.0 <= params.threshold <= 1.0:
            raise ModelPackError(f"{where}: recognizer.fast_path needs a threshold in [0, 1] and three calibration numbers")
        return params


def reading_features(text: DecodedText) -> tuple[float, float]:
    """(log geometric-mean probability, log minimum probability) of a reading; -30 for an empty one."""
    if not text.char_probs:
        return -30.0, -30.0
    logs = [math.log(max(p, 1e-12)) for p in text.char_probs]
    return sum(logs) / len(logs), min(logs)


def calibrated(text: DecodedText, calibration: tuple[float, float, float] | None) -> float:
    """The chance, by the fitted calibration, that ``text`` is read exactly right."""
    if calibration is None:
        return text.confidence
    bias, w_mean, w_min = calibration
    mean_log, min_log = reading_features(text)
    z = bias + w_mean * mean_log + w_min * min_log
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def accepts(params: FastPathParams, crop: np.ndarray, text: DecodedText) -> bool:
    """True when the fast reading ``text`` of ``crop`` stands (the rules in this module's docstring)."""
    height, width = crop.shape[:2]
    if not text.text.strip() or FOREIGN_MARK in text.text:
        return False
    if not params.min_aspect <= width / max(height, 1) <= params.max_aspect:
        return False
    return calibrated(text, params.calibration) >= params.threshold


class FastPathRecognizer:
    """Recognizer-shaped: ``recognize`` returns each line's reading tagged with who read it."""

    def __init__(self, fast: Recognizer, accurate: Recognizer, params: FastPathParams) -> None:
        self.fast, self.accurate, self.params = fast, accurate, params
        # What orientation checks and "read it both ways" compare: one model's confidences only.
        self.primary = accurate
        self.spec, self.stride = accurate.spec, accurate.stride
        self.name = accurate.name

    def reader_of(self, text: DecodedText) -> Recognizer:
        return self.fast if text.reader == self.fast.name else self.accurate

    def recognize(self, crops: list[np.ndarray], batch_size: int | None = None, beam_width: int = 0) -> list[DecodedText]:
        if not crops:
            return []
        first = self.fast.recognize(crops, batch_size, beam_width)
        refused = [i for i, (crop, text) in enumerate(zip(crops, first)) if not accepts(self.params, crop, text)]
        out = list(first)
        for i, text in zip(refused, self.accurate.recognize([crops[i] for i in refused], batch_size, beam_width)):
            out[i] = text
        return out
