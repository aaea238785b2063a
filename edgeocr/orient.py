"""Orientation: which way each line and the whole page are turned, so text is read upright.

A line classifier (``cls-0-180``) tells an upright line from one upside down. The page's
orientation (0, 90, 180 or 270 degrees) is decided from its lines: mostly tall boxes mean a page
turned a quarter or a column layout, mostly wide boxes a page upright or upside down, and the
classifier's votes (and, for columns, the recognizer's confidence) pick between them. Angles are
counter-clockwise degrees the content must be turned to stand upright, as ``cv2.rotate`` names
them.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .inputspec import InputSpec, resize_line, to_batch

ROTATE = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
# A box this much longer one way than the other says which way its text runs.
ELONGATED = 1.5


def turn(image: np.ndarray, angle: int) -> np.ndarray:
    """``image`` turned ``angle`` degrees counter-clockwise (0, 90, 180, 270)."""
    return image if angle % 360 == 0 else cv2.rotate(image, ROTATE[angle % 360])


def turn_points(points: np.ndarray, angle: int, width: int, height: int) -> np.ndarray:
    """Where points of a ``width × height`` image land when it is turned by ``turn``."""
    pts = np.asarray(points, dtype=np.float32)
    x, y = pts[..., 0], pts[..., 1]
    angle %= 360
    if angle == 90:
        out = np.stack([y, width - x], axis=-1)
    elif angle == 180:
        out = np.stack([width - x, height - y], axis=-1)
    elif angle == 270:
        out = np.stack([height - y, x], axis=-1)
    else:
        out = pts.copy()
    return out.astype(np.float32)


def turned_size(width: int, height: int, angle: int) -> tuple[int, int]:
    return (height, width) if angle % 180 == 90 else (width, height)


@dataclass(frozen=True)
class ClassifierParams:
    # A single line is flipped against its page only when the classifier is at least this sure;
    # None never flips one alone (on SROIE-dev, flips at 0.9 and at 0.99 both raised line CER:
    # the classifier is wrong more often on short receipt lines than such lines are turned).
    line_threshold: float | None = None
    # How many of the page's longest lines vote on upright against upside down: long lines are
    # where the classifier is reliable, and a sample keeps its cost flat on dense pages.
    vote_sample: int = 12
    batch_size: int = 16

    def __post_init__(self) -> None:
        if self.line_threshold is not None and not 0.5 <= self.line_threshold <= 1.0:
            raise ValueError(f"line_threshold must be between 0.5 and 1 or null, got {self.line_threshold}")
        if self.vote_sample < 1 or self.batch_size < 1:
            raise ValueError("vote_sample and batch_size must be at least 1")


class LineClassifier:
    """The 0/180 line classifier: ``(N, C, H, W)`` lines in, ``(N, 2)`` probabilities out."""

    def __init__(self, session, spec: InputSpec, params: ClassifierParams = ClassifierParams()) -> None:
        self.session = session
        self.spec = spec
        self.params = params
        self.input_name = session.get_inputs()[0].name

    def upside_down(self, crops: list[np.ndarray]) -> np.ndarray:
        """For each crop, the probability that it is upside down."""
        if not crops:
            return np.zeros(0, dtype=np.float32)
        lines = [resize_line(crop, self.spec) for crop in crops]
        out = []
        for start in range(0, len(lines), self.params.batch_size):
            batch = to_batch(lines[start : start + self.params.batch_size], self.spec)
            out.append(np.asarray(self.session.run(None, {self.input_name: batch})[0], dtype=np.float32)[:, 1])
        return np.concatenate(out)


def box_direction(width: float, height: float) -> str:
    """``horizontal``, ``vertical`` or ``square`` (too short to say) for a box's size."""
    if width >= ELONGATED * height:
        return "horizontal"
    if height >= ELONGATED * width:
        return "vertical"
    return "square"


def mostly_vertical(sizes: list[tuple[float, float]]) -> bool:
    """True when tall boxes outnumber wide ones: a page turned a quarter, or text in columns."""
    directions = [box_direction(w, h) for w, h in sizes]
    return directions.count("vertical") > directions.count("horizontal")


def vote_upside_down(probabilities: np.ndarray, weights: np.ndarray | None = None) -> bool:
    """The page is upside down when its lines, weighted by length, lean that way on balance."""
    if probabilities.size == 0:
        return False
    w = np.ones_like(probabilities) if weights is None else np.asarray(weights, dtype=np.float32)
    return float(np.sum(w * (probabilities - 0.5))) > 0.0
