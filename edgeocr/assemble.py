"""Text assembly: lines in the order a person reads them, and boxes on one visual row as one line.

Works on boxes in the page's upright frame (after orientation). Boxes whose vertical centres
lie within half a height of each other form a row (a table row ``Widget A  3 x 12.50  37.50`` is
one line of text, its cells kept apart by a double space where the gap is wide). A page set in
columns (a gap running down the page with the two sides' rows not lined up, unlike a table's) is
read column by column; boxes spanning the gap (titles) split the page into bands read in turn.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

# Side-by-side parts share rows (a table) when at least this share of the smaller side does.
TABLE_ROW_SHARE = 0.5
# A column gap is at least this many median line heights wide.
COLUMN_GAP_HEIGHTS = 1.2
# Cells further apart than this many line heights are joined by two spaces, else one.
WIDE_GAP_HEIGHTS = 1.5


def _geometry(quads: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per box: (x0, y0, x1, y1) bounds and its text height (the shorter side)."""
    bounds = np.array([[q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()] for q in quads], dtype=np.float32)
    heights = np.array([max(min(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[1] - q[0])), 1.0) for q in quads],
                       dtype=np.float32)
    return bounds, heights


def group_rows(indices: Sequence[int], bounds: np.ndarray, heights: np.ndarray) -> list[list[int]]:
    """Rows top to bottom, each left to right; a box joins the row of its horizontally nearest box
    whose centre is within half a height, so a slightly skewed long row stays one row."""
    cy = (bounds[:, 1] + bounds[:, 3]) / 2
    cx = (bounds[:, 0] + bounds[:, 2]) / 2
    rows: list[list[int]] = []
    for index in sorted(indices, key=lambda i: (cy[i], cx[i])):
        for row in rows:
            anchor = min(row, key=lambda i: abs(cx[i] - cx[index]))
            if abs(cy[index] - cy[anchor]) < 0.5 * min(heights[index], heights[anchor]):
                row.append(index)
                break
        else:
            rows.append([index])
    rows.sort(key=lambda row: min(cy[i] for i in row))
    return [sorted(row, key=lambda i: cx[i]) for row in rows]


def _row_share(left: list[int], right: list[int], bounds: np.ndarray, heights: np.ndarray) -> float:
    """Share of the smaller side's boxes that have a box on the same row on the other side."""
    small, large = (left, right) if len(left) <= len(right) else (right, left)
    cy = (bounds[:, 1] + bounds[:, 3]) / 2
    shared = sum(1 for i in small if any(abs(cy[i] - cy[j]) < 0.5 * min(heights[i], heights[j]) for j in large))
    return shared / max(len(small), 1)


def _column_gap(indices: list[int], bounds: np.ndarray, heights: np.ndarray) -> float | None:
    """The x of the widest empty vertical gap between column-like groups, or None."""
    if len(indices) < 4:
        return None
    spans = sorted((bounds[i, 0], bounds[i, 2]) for i in indices)
    min_gap = COLUMN_GAP_HEIGHTS * float(np.median(heights[indices]))
    best: tuple[float, float] | None = None
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= min_gap and (best is None or x0 - reach > best[1] - best[0]):
            best = (reach, x0)
        reach = max(reach, x1)
    if best is None:
        return None
    cut = (best[0] + best[1]) / 2
    left = [i for i in indices if bounds[i, 2] <= cut]
    right = [i for i in indices if bounds[i, 0] >= cut]
    if min(len(left), len(right)) < 2 or _row_share(left, right, bounds, heights) >= TABLE_ROW_SHARE:
        return None
    return cut


def _order(indices: list[int], bounds: np.ndarray, heights: np.ndarray, depth: int = 0) -> list[list[int]]:
    if depth < 4:
        # Look for columns among the boxes that do not span the whole block; spanning ones (titles)
        # cut the block into bands.
        width = bounds[indices, 2].max() - bounds[indices, 0].min()
        narrow = [i for i in indices if bounds[i, 2] - bounds[i, 0] < 0.6 * width]
        cut = _column_gap(narrow, bounds, heights)
        if cut is not None:
            crossing = sorted((i for i in indices if bounds[i, 0] < cut < bounds[i, 2]), key=lambda i: bounds[i, 1])
            rows: list[list[int]] = []
            top = -np.inf
            for stop in [*crossing, None]:
                bottom = np.inf if stop is None else bounds[stop, 1]
                band = [i for i in indices if i not in crossing and top <= bounds[i, 1] < bottom]
                left = [i for i in band if (bounds[i, 0] + bounds[i, 2]) / 2 < cut]
                right = [i for i in band if (bounds[i, 0] + bounds[i, 2]) / 2 >= cut]
                for side in (left, right):
                    if side:
                        rows += _order(side, bounds, heights, depth + 1)
                if stop is not None:
                    rows.append([stop])
                    top = bounds[stop, 1]
            return rows
    return group_rows(indices, bounds, heights)


def reading_rows(quads: Sequence[np.ndarray]) -> list[list[int]]:
    """Indices of ``quads`` as rows in reading order (columns, then rows, then left to right)."""
    if not quads:
        return []
    bounds, heights = _geometry(quads)
    return _order(list(range(len(quads))), bounds, heights)


def join_row(texts: Sequence[str], quads: Sequence[np.ndarray]) -> str:
    """One row's cells as one line: a double space across a wide gap, one space otherwise."""
    if not texts:
        return ""
    bounds, heights = _geometry(quads)
    out = texts[0]
    for k in range(1, len(texts)):
        gap = bounds[k, 0] - bounds[k - 1, 2]
        out += ("  " if gap > WIDE_GAP_HEIGHTS * min(heights[k], heights[k - 1]) else " ") + texts[k]
    return out
