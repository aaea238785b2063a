"""DB-style detection: a network gives a text probability map; post-processing turns it into lines.

Post-processing follows Differentiable Binarization (Liao et al., 2020): binarize the map, take
each connected region's minimum-area rectangle, score it by the mean probability inside, drop weak
or tiny ones, and grow ("unclip") it by ``area * unclip_ratio / perimeter`` because the network is
trained to predict shrunk text kernels. It is usable on any probability map, model or not.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..geometry import order_corners
from ..inputspec import InputSpec, to_batch, to_channels
from . import DetectedLine


@dataclass(frozen=True)
class DbParams:
    threshold: float = 0.3       # pixel probability that counts as text
    box_threshold: float = 0.6   # mean probability a region needs to be kept
    unclip_ratio: float = 1.6
    min_size: float = 3.0        # px on the map, shorter side after unclipping
    max_candidates: int = 1000
    limit_side: int = 960        # the longer side is resized to at most this (multiple of 32)
    min_side: int = 32


def _box_score(prob: np.ndarray, contour: np.ndarray) -> float:
    x, y, w, h = cv2.boundingRect(contour)
    mask = np.zeros((h, w), dtype=np.uint8)
    cv2.fillPoly(mask, [contour.reshape(-1, 2) - np.array([x, y])], 1)
    region = prob[y : y + h, x : x + w]
    return float(cv2.mean(region, mask)[0]) if mask.any() else 0.0


def db_postprocess(prob: np.ndarray, params: DbParams, scale_x: float = 1.0, scale_y: float = 1.0) -> list[DetectedLine]:
    """Lines from a probability map ``(H, W)`` in [0, 1]; ``scale_*`` map back to the page."""
    if prob.ndim != 2:
        raise ValueError(f"expected a 2-D probability map, got shape {prob.shape}")
    bitmap = (prob > params.threshold).astype(np.uint8)
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    lines = []
    for contour in contours[: params.max_candidates]:
        if len(contour) < 3:
            continue
        score = _box_score(prob, contour)
        if score < params.box_threshold:
            continue
        (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
        if min(w, h) < 1:
            continue
        area, perimeter = w * h, 2 * (w + h)
        grow = area * params.unclip_ratio / perimeter
        w, h = w + 2 * grow, h + 2 * grow
        if min(w, h) < params.min_size:
            continue
        quad = order_corners(cv2.boxPoints(((cx, cy), (w, h), angle)))
        quad[:, 0] = np.clip(quad[:, 0] * scale_x, 0, prob.shape[1] * scale_x - 1)
        quad[:, 1] = np.clip(quad[:, 1] * scale_y, 0, prob.shape[0] * scale_y - 1)
        lines.append(DetectedLine(quad, score))
    return lines


def resize_for_db(image: np.ndarray, params: DbParams) -> tuple[np.ndarray, float, float]:
    """Resize so the longer side is at most ``limit_side`` and both sides are multiples of 32."""
    height, width = image.shape[:2]
    ratio = min(1.0, params.limit_side / max(height, width))
    new_h = max(params.min_side, int(round(height * ratio / 32)) * 32)
    new_w = max(params.min_side, int(round(width * ratio / 32)) * 32)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR)
    return resized, width / new_w, height / new_h


class DbDetector:
    """A DB network in an ONNX Runtime session: ``(N, C, H, W)`` page in, ``(N, 1, H, W)`` map out.

    The input convention (channels, colour order, mean, std) is the pack's ``InputSpec``; the
    resize policy is in ``DbParams``.
    """

    name = "db"

    def __init__(self, session, params: DbParams, spec: InputSpec | None = None) -> None:
        self.session = session
        self.params = params
        self.spec = spec or InputSpec(channels=3, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
        self.input_name = session.get_inputs()[0].name

    @property
    def channels(self) -> int:
        return self.spec.channels

    def probability_map(self, page: np.ndarray) -> tuple[np.ndarray, float, float]:
        """The network's text probability map for an 8-bit BGR or grayscale page, and the scales back."""
        resized, scale_x, scale_y = resize_for_db(to_channels(page, self.spec), self.params)
        output = self.session.run(None, {self.input_name: to_batch([resized], self.spec)})[0]
        prob = np.asarray(output, dtype=np.float32).reshape(output.shape[-2], output.shape[-1])
        return prob, scale_x, scale_y

    def detect(self, page: np.ndarray) -> list[DetectedLine]:
        prob, scale_x, scale_y = self.probability_map(page)
        return db_postprocess(prob, self.params, scale_x, scale_y)
