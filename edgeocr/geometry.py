"""Quadrilaterals: ordering corners, cutting crops by perspective transform, reading order."""
from __future__ import annotations

import cv2
import numpy as np

# A crop this much taller than wide is treated as a vertical line and turned before recognition.
VERTICAL_ASPECT = 1.5


def order_corners(points: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left (clockwise in image coordinates)."""
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    tl, bl = left[np.argsort(left[:, 1], kind="stable")]
    tr, br = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([tl, tr, br, bl], dtype=np.float32)


def quad_from_rect(rect: tuple) -> np.ndarray:
    """Corners of a ``cv2.minAreaRect`` result, ordered."""
    return order_corners(cv2.boxPoints(rect))


def clip_quad(quad: np.ndarray, width: int, height: int) -> np.ndarray:
    clipped = quad.copy()
    clipped[:, 0] = np.clip(clipped[:, 0], 0, width - 1)
    clipped[:, 1] = np.clip(clipped[:, 1], 0, height - 1)
    return clipped


def quad_size(quad: np.ndarray) -> tuple[float, float]:
    tl, tr, br, bl = quad
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    return float(width), float(height)


def crop_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Warp the quadrilateral to an upright rectangle of the same size."""
    width, height = quad_size(quad)
    w, h = max(int(round(width)), 1), max(int(round(height)), 1)
    # Corners are edge coordinates (a box from x=10 to x=50 is 40 pixels wide), so map to edges.
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def is_vertical(crop: np.ndarray) -> bool:
    return crop.shape[0] >= VERTICAL_ASPECT * crop.shape[1]


def reading_order(quads: list[np.ndarray]) -> list[int]:
    """Indices of ``quads`` top to bottom, and left to right within a row.

    A box joins a row when its vertical centre is within half a height of the row's nearest box;
    rows are built greedily from the top, so a slightly skewed line stays one row.
    """
    if not quads:
        return []
    centers = [q.mean(axis=0) for q in quads]
    heights = [max(quad_size(q)[1], 1.0) if quad_size(q)[0] >= quad_size(q)[1] else max(quad_size(q)[0], 1.0) for q in quads]
    remaining = sorted(range(len(quads)), key=lambda i: (centers[i][1], centers[i][0]))
    rows: list[list[int]] = []
    for index in remaining:
        for row in rows:
            # Compare with the row's horizontally nearest box, so a long skewed row stays one row.
            anchor = min(row, key=lambda i: abs(centers[i][0] - centers[index][0]))
            if abs(centers[index][1] - centers[anchor][1]) < 0.5 * min(heights[index], heights[anchor]):
                row.append(index)
                break
        else:
            rows.append([index])
    rows.sort(key=lambda row: min(centers[i][1] for i in row))
    return [i for row in rows for i in sorted(row, key=lambda i: centers[i][0])]
