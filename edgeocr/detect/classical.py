"""A text-line detector from OpenCV morphology and component linking; needs no model.

Strokes are found by morphological gradient (so dark-on-light and light-on-dark text both show),
table rules are removed, and the remaining components are linked into lines: neighbours that
share most of their height and sit closer than a fraction of that height join one line. This is the fallback detector and
the choice for clean scans; it knows nothing a learned detector would about what text looks like.
Characters stacked in a column are linked into vertical lines when that reading is the longer.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import cv2
import numpy as np

from ..geometry import order_corners
from . import DetectedLine


@dataclass(frozen=True)
class ClassicalParams:
    max_side: int = 2500         # larger pages are shrunk for detection only
    word_gap: float = 0.9        # link when the gap is below this share of the taller component
    column_gap: float = 0.9      # the same for characters stacked in a column (vertical text)
    min_overlap: float = 0.5     # share of the shorter component's height two neighbours must share
    min_text_height: int = 6     # px; smaller lines are unreadable at the recognizer's resolution
    pad_across: float = 0.15    # padding around a line, as a share of its height
    pad_along: float = 0.25
    rule_length: int = 40        # px; straight runs longer than this are rules, not text
    min_fill: float = 0.12       # stroke pixels per box pixel; drawings and stamps fill less


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _stroke_mask(gray: np.ndarray, params: ClassicalParams) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    gradient = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, kernel)
    _, mask = cv2.threshold(gradient, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # Table rules and frames would link whole rows of a form together: take them out.
    length = max(params.rule_length, min(gray.shape) // 20)
    horizontal = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    vertical = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    mask = cv2.subtract(mask, cv2.bitwise_or(horizontal, vertical))
    return mask


def _components(mask: np.ndarray) -> np.ndarray:
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes = stats[1:, :5].astype(np.int64)  # x, y, w, h, area
    height, width = mask.shape
    keep = (boxes[:, 4] >= 3) & (boxes[:, 3] >= 2) & (boxes[:, 3] < 0.8 * height) & (boxes[:, 2] < 0.95 * width)
    boxes = boxes[keep]
    # The counter of an O or R is a component of its own; inside its letter it only adds links.
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]
    inside = np.zeros(len(boxes), dtype=bool)
    for start in range(0, len(boxes), 512):  # in blocks, to bound the pairwise matrix's memory
        sl = slice(start, start + 512)
        contained = ((x0[sl, None] >= x0[None]) & (y0[sl, None] >= y0[None]) & (x1[sl, None] <= x1[None])
                     & (y1[sl, None] <= y1[None]) & (boxes[sl, 4, None] < boxes[None, :, 4]))
        inside[sl] = contained.any(axis=1)
    return boxes[~inside]


def _link_rows(boxes: np.ndarray, gap: float, min_overlap: float, columns: bool = False) -> _UnionFind:
    """Link neighbours along a line; with ``columns`` the same rule runs top to bottom."""
    if columns:
        boxes = boxes[:, [1, 0, 3, 2, 4]]  # swap x/y and w/h: a column is a row of the transpose
    links = _UnionFind(len(boxes))
    order = np.argsort(boxes[:, 0], kind="stable")
    lefts = boxes[order, 0].tolist()
    max_h = int(boxes[:, 3].max()) if len(boxes) else 0
    # Punctuation is short: a comma and the next word are as far apart as two words, so gaps are
    # measured against at least the page's typical character height, not the comma's.
    typical_h = float(np.median(boxes[boxes[:, 3] >= 4, 3])) if (boxes[:, 3] >= 4).any() else 0.0
    for rank, i in enumerate(order.tolist()):
        xi, yi, wi, hi, ai = boxes[i].tolist()
        reach = xi + wi + gap * max(hi, max_h)
        stop = bisect_right(lefts, reach)
        for j in order[rank + 1 : stop].tolist():
            xj, yj, wj, hj, aj = boxes[j].tolist()
            overlap_y = min(yi + hi, yj + hj) - max(yi, yj)
            gap_x = xj - (xi + wi)
            similar = not columns or max(hi, hj) < 1.6 * min(hi, hj)
            reference_h = max(hi, hj, min(typical_h, 2 * min(hi, hj)) if not columns else 0)
            if overlap_y >= min_overlap * min(hi, hj) and gap_x <= gap * reference_h and similar:
                links.union(i, j)
                continue
            if columns:
                continue
            # Accents and the dots of i and j sit just above their letter without sharing height.
            overlap_x = min(xi + wi, xj + wj) - max(xi, xj)
            gap_y = max(yi, yj) - min(yi + hi, yj + hj)
            small, large = sorted((ai, aj))
            if overlap_x >= 0.5 * min(wi, wj) and 0 <= gap_y <= 0.25 * max(hi, hj) and small < 0.3 * large:
                links.union(i, j)
    return links


def _groups(links: _UnionFind, members: list[int]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for index in members:
        groups.setdefault(links.find(index), []).append(index)
    return groups


def _line_groups(boxes: np.ndarray, params: ClassicalParams) -> list[list[int]]:
    """Components grouped into lines: rows first, then columns of the characters left alone.

    Characters of a vertical line (or of a line turned 90 degrees) share no height with their
    neighbours, so row linking leaves each of them alone; those loners are linked top to bottom,
    and a column of three or more becomes a vertical line. Characters that already belong to a
    row never join a column, so the stacked letters of a dense paragraph stay in their rows.
    """
    everything = list(range(len(boxes)))
    rows = _groups(_link_rows(boxes, params.word_gap, params.min_overlap), everything)
    loners = [members[0] for members in rows.values() if len(members) == 1]
    result = [members for members in rows.values() if len(members) > 1]
    if loners:
        columns = _groups(_link_rows(boxes[loners], params.column_gap, params.min_overlap, columns=True),
                          list(range(len(loners))))
        for members in columns.values():
            if len(members) >= 3:
                result.append([loners[k] for k in members])
            else:
                result.extend([loners[k]] for k in members)
    return _drop_enclosed(boxes, result)


def _drop_enclosed(boxes: np.ndarray, groups: list[list[int]]) -> list[list[int]]:
    """Drop groups lying inside another group's box (the counter of an R left behind by a column)."""
    extents = []
    for members in groups:
        x0 = min(boxes[m, 0] for m in members)
        y0 = min(boxes[m, 1] for m in members)
        x1 = max(boxes[m, 0] + boxes[m, 2] for m in members)
        y1 = max(boxes[m, 1] + boxes[m, 3] for m in members)
        extents.append((x0, y0, x1, y1))
    kept = []
    for i, (x0, y0, x1, y1) in enumerate(extents):
        area = max((x1 - x0) * (y1 - y0), 1)
        enclosed = False
        for j, (u0, v0, u1, v1) in enumerate(extents):
            if i == j or (u1 - u0) * (v1 - v0) <= area:
                continue
            inter = max(0, min(x1, u1) - max(x0, u0)) * max(0, min(y1, v1) - max(y0, v0))
            if inter >= 0.8 * area:
                enclosed = True
                break
        if not enclosed:
            kept.append(groups[i])
    return kept


def _group_quad(boxes: np.ndarray, members: list[int], params: ClassicalParams) -> tuple[np.ndarray, float] | None:
    corners = []
    for m in members:
        x, y, w, h, _ = boxes[m].tolist()
        corners.extend([(x, y), (x + w, y), (x + w, y + h), (x, y + h)])
    points = np.array(corners, dtype=np.float32)
    (cx, cy), (rw, rh), angle = cv2.minAreaRect(points)
    if len(members) <= 2 or abs(((angle + 45) % 90) - 45) > 20:
        # Few components give no reliable angle; steep angles are rarely a real skew.
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        (cx, cy), (rw, rh), angle = ((x0 + x1) / 2, (y0 + y1) / 2), (x1 - x0, y1 - y0), 0.0
    thickness = min(rw, rh)
    if thickness < params.min_text_height:
        return None
    area = sum(int(boxes[m, 4]) for m in members)
    if len(members) == 1 and area < 20:
        return None
    pad_across, pad_along = params.pad_across * thickness, params.pad_along * thickness
    fill = area / max(rw * rh, 1.0)
    if fill < params.min_fill:
        return None
    if rw >= rh:
        rw, rh = rw + 2 * pad_along, rh + 2 * pad_across
    else:
        rw, rh = rw + 2 * pad_across, rh + 2 * pad_along
    quad = order_corners(cv2.boxPoints(((cx, cy), (rw, rh), angle)))
    return quad, float(min(1.0, fill * 2))


class ClassicalDetector:
    name = "classical"

    def __init__(self, params: ClassicalParams = ClassicalParams()) -> None:
        self.params = params

    def detect(self, gray: np.ndarray) -> list[DetectedLine]:
        scale = 1.0
        longest = max(gray.shape)
        if longest > self.params.max_side:
            scale = self.params.max_side / longest
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        boxes = _components(_stroke_mask(gray, self.params))
        if len(boxes) == 0:
            return []
        lines = []
        for members in _line_groups(boxes, self.params):
            found = _group_quad(boxes, members, self.params)
            if found is None:
                continue
            quad, score = found
            height, width = gray.shape
            quad[:, 0] = np.clip(quad[:, 0], 0, width - 1)
            quad[:, 1] = np.clip(quad[:, 1], 0, height - 1)
            lines.append(DetectedLine(quad / scale, score))
        return lines
