"""DB training targets from line quadrilaterals, and rendered pages as a torch dataset.

Targets follow Differentiable Binarization: the probability target is each text polygon shrunk by
``D = A (1 - r^2) / L`` (area A, perimeter L, r = 0.4), which the engine's unclip grows back; the
threshold target rises towards the polygon's border inside the band between the shrunk and the
grown polygon. Quadrilaterals are convex, so shrinking and growing is an offset of each edge
along its normal and a line intersection at each corner; no polygon-clipping library is needed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..inputspec import to_batch
from .detector_model import INPUT_SPEC
from .pages import render_page

SHRINK_RATIO = 0.4
THRESH_MIN, THRESH_MAX = 0.3, 0.7
MIN_TEXT_HEIGHT = 6.0   # px; smaller text is neither taught nor punished (``prob_mask`` 0)


def _signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _orient_clockwise(poly: np.ndarray) -> np.ndarray:
    # Image y points down, so a positive shoelace area is clockwise on screen.
    return poly if _signed_area(poly) > 0 else poly[::-1]


def offset_convex(poly: np.ndarray, distance: float) -> np.ndarray | None:
    """Move every edge of a convex polygon outwards by ``distance`` (inwards when negative).

    Returns ``None`` when the shrunk polygon collapses (it would turn inside out).
    """
    poly = _orient_clockwise(np.asarray(poly, dtype=np.float64))
    n = len(poly)
    lines = []
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        d = b - a
        length = np.hypot(*d)
        if length < 1e-9:
            return None
        normal = np.array([d[1], -d[0]]) / length  # outward for a clockwise polygon in image coordinates
        lines.append((a + normal * distance, d))
    out = []
    for i in range(n):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        cross = d1[0] * d2[1] - d1[1] * d2[0]
        if abs(cross) < 1e-9:
            out.append(p2)
            continue
        t = ((p2[0] - p1[0]) * d2[1] - (p2[1] - p1[1]) * d2[0]) / cross
        out.append(p1 + t * d1)
    result = np.array(out)
    if distance < 0:
        # A polygon shrunk past its width turns inside out: its edges point the other way.
        edges = np.roll(result, -1, axis=0) - result
        original = np.roll(poly, -1, axis=0) - poly
        if (np.sum(edges * original, axis=1) <= 0).any() or _signed_area(result) < 1:
            return None
    return result.astype(np.float32)


def shrink_distance(poly: np.ndarray, ratio: float = SHRINK_RATIO) -> float:
    poly = np.asarray(poly, dtype=np.float32)
    area = abs(cv2.contourArea(poly))
    perimeter = cv2.arcLength(poly, True)
    return area * (1 - ratio**2) / perimeter if perimeter > 0 else 0.0


def _segment_distance(xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    length2 = float(d @ d) or 1e-9
    t = np.clip(((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / length2, 0, 1)
    return np.hypot(xs - (a[0] + t * d[0]), ys - (a[1] + t * d[1]))


def quad_height(quad: np.ndarray) -> float:
    tl, tr, br, bl = np.asarray(quad, dtype=np.float32)
    return float((np.hypot(*(bl - tl)) + np.hypot(*(br - tr))) / 2)


def make_targets(shape: tuple[int, int], quads: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Probability, probability mask, threshold and threshold mask, each ``(H, W)`` float32."""
    h, w = shape
    prob = np.zeros((h, w), np.float32)
    prob_mask = np.ones((h, w), np.float32)
    thresh = np.zeros((h, w), np.float32)
    thresh_mask = np.zeros((h, w), np.float32)
    for quad in quads:
        quad = np.asarray(quad, dtype=np.float32)
        distance = shrink_distance(quad)
        shrunk = offset_convex(quad, -distance) if distance > 0 else None
        if shrunk is None or quad_height(quad) < MIN_TEXT_HEIGHT:
            cv2.fillPoly(prob_mask, [np.round(quad).astype(np.int32)], 0.0)
            continue
        cv2.fillPoly(prob, [np.round(shrunk).astype(np.int32)], 1.0)
        grown = offset_convex(quad, distance)
        x0, y0 = np.floor(grown.min(axis=0)).astype(int)
        x1, y1 = np.ceil(grown.max(axis=0)).astype(int)
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
        if cx1 < cx0 or cy1 < cy0:
            continue
        band = np.zeros((h, w), np.uint8)
        cv2.fillPoly(band, [np.round(grown).astype(np.int32)], 1)
        ys, xs = np.mgrid[cy0 : cy1 + 1, cx0 : cx1 + 1].astype(np.float32)
        nearest = np.min([_segment_distance(xs, ys, quad[i], quad[(i + 1) % 4]) for i in range(4)], axis=0)
        closeness = 1 - np.clip(nearest / max(distance, 1e-6), 0, 1)
        inside = band[cy0 : cy1 + 1, cx0 : cx1 + 1].astype(bool)
        region = thresh[cy0 : cy1 + 1, cx0 : cx1 + 1]
        region[inside] = np.maximum(region[inside], closeness[inside])
        thresh_mask[cy0 : cy1 + 1, cx0 : cx1 + 1][inside] = 1.0
    thresh = thresh * (THRESH_MAX - THRESH_MIN) + THRESH_MIN
    return {"prob": prob, "prob_mask": prob_mask, "thresh": thresh, "thresh_mask": thresh_mask}


def normalise(gray: np.ndarray) -> np.ndarray:
    """``(H, W)`` float32, by the same ``to_batch`` and pack ``InputSpec`` as the engine's ``DbDetector``."""
    return to_batch([gray], INPUT_SPEC)[0, 0]


def random_crop(image: np.ndarray, quads: list[np.ndarray], size: int, rng: random.Random) -> tuple[np.ndarray, list[np.ndarray]]:
    """Rescale the page by a random factor, then cut a ``size`` square, usually around some text."""
    h, w = image.shape
    target = size * rng.uniform(0.6, 2.2)  # the page's long side, in crops: small text and large both occur
    scale = target / max(h, w)
    image = cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    quads = [q * scale for q in quads]
    h, w = image.shape
    if quads and rng.random() < 0.8:
        cx, cy = rng.choice(quads).mean(axis=0)
        x0, y0 = int(cx - rng.uniform(0.1, 0.9) * size), int(cy - rng.uniform(0.1, 0.9) * size)
    else:
        x0, y0 = rng.randint(min(0, w - size), max(0, w - size)), rng.randint(min(0, h - size), max(0, h - size))
    x0, y0 = int(np.clip(x0, min(0, w - size), max(0, w - size))), int(np.clip(y0, min(0, h - size), max(0, h - size)))
    fill = int(np.median(np.concatenate([image[0], image[-1]])))
    canvas = np.full((size, size), fill, np.uint8)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + size, w), min(y0 + size, h)
    canvas[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    shifted = [q - np.array([x0, y0], np.float32) for q in quads]
    kept = [q for q in shifted if q[:, 0].max() > 0 and q[:, 1].max() > 0 and q[:, 0].min() < size and q[:, 1].min() < size]
    return canvas, kept


@dataclass(frozen=True)
class PageSpec:
    seed: int
    size: int               # pages in this set
    crop: int = 512
    crops_per_page: int = 1  # reuse one rendered page for several crops: rendering is the slow part


class DetectionPages(Dataset):
    """Sample ``i`` is a crop of page ``i // crops_per_page``, a pure function of ``(seed, i)``."""

    def __init__(self, spec: PageSpec, fonts: list[Path]) -> None:
        self.spec, self.fonts = spec, fonts
        self._page_cache: tuple[int, object] | None = None

    def __len__(self) -> int:
        return self.spec.size * self.spec.crops_per_page

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        page_index = index // self.spec.crops_per_page
        if self._page_cache is None or self._page_cache[0] != page_index:
            self._page_cache = (page_index, render_page(self.spec.seed, page_index, self.fonts))
        page = self._page_cache[1]
        rng = random.Random(f"crop:{self.spec.seed}:{index}")
        image, quads = random_crop(page.image, list(page.quads), self.spec.crop, rng)
        if rng.random() < 0.1:  # inverted pages: light text on dark
            image = 255 - image
        targets = make_targets(image.shape, quads)
        sample = {"image": torch.from_numpy(normalise(image))[None]}
        sample.update({k: torch.from_numpy(v)[None] for k, v in targets.items()})
        return sample
