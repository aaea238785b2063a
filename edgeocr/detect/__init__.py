"""Text-line detection behind one interface: a page in, line quadrilaterals out.

Two implementations: ``ClassicalDetector`` (OpenCV morphology, no model) and ``DbDetector`` (a
learned DB-style network through ONNX Runtime, with DB post-processing).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class DetectedLine:
    quad: np.ndarray  # (4, 2) float32: top-left, top-right, bottom-right, bottom-left
    score: float


class Detector(Protocol):
    name: str

    def detect(self, gray: np.ndarray) -> list[DetectedLine]:
        """Find text lines in an 8-bit grayscale page."""
        ...
