"""A text-line detector from OpenCV morphology and component linking; needs no model.

Strokes are found by morphological gradient (so dark-on-light and light-on-dark text both show),
table rules are removed, and the remaining components are linked into lines: neighbours that
share most of their height and sit closer than a fraction of that height join one line. This is the fallback detector and
the choice for clean scans; it knows nothing a learned detector would about what text looks like.
Characters stacked in a column are linked into vertical lines when that reading is the longer.
"""
from __future__ import annotations

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


def _pair_links(left: np.ndarray, right: np.ndarray, gap: float, min_overlap: float, typical_h: float,
                columns: bool) -> np.ndarray:
    """Which (left, right) pairs join one line; either side may be one box, broadcast against many.

    ``left`` comes first in left-edge order. Rows of (x, y, w, h, area) along the last axis.
    """
    xi, yi, wi, hi, ai = (left[..., k] for k in range(5))
    xj, yj, wj, hj, aj = (right[..., k] for k in range(5))
    short, tall = np.minimum(hi, hj), np.maximum(hi, hj)
    overlap_y = np.minimum(yi + hi, yj + hj) - np.maximum(yi, yj)
    gap_x = xj - (xi + wi)
    if columns:
        similar = tall < 1.6 * short
        reference_h = tall
    else:
        similar = True
        reference_h = np.maximum(tall, np.minimum(typical_h, 2 * short))
    linked = (overlap_y >= min_overlap * short) & (gap_x <= gap * reference_h) & similar
    if not columns:
        # Accents and the dots of i and j sit just above their letter without sharing height.
        overlap_x = np.minimum(xi + wi, xj + wj) - np.maximum(xi, xj)
        gap_y = np.maximum(yi, yj) - np.minimum(yi + hi, yj + hj)
        linked |= ((overlap_x >= 0.5 * np.minimum(wi, wj)) & (gap_y >= 0) & (gap_y <= 0.25 * tall)
                   & (np.minimum(ai, aj) < 0.3 * np.maximum(ai, aj)))
    return linked


def _link_rows(boxes: np.ndarray, gap: float, min_overlap: float, columns: bool = False) -> _UnionFind:
    """Link neighbours along a line; with ``columns`` the same rule runs top to bottom.

    A pair can link only when its gap is below ``gap`` times the taller box (or the typical
    height). Searching every box's right-hand neighbours out to the page's tallest component made
    noisy scans quadratic: one 454-px smudge among 30,000 specks took minutes. So each box looks
    right only as far as boxes of ordinary height can link, and the few very tall boxes look left
    over everything before them; together that is every pair the rule can link, each pair judged
    once in the same left-to-right orientation.
    """
    if columns:
        boxes = boxes[:, [1, 0, 3, 2, 4]]  # swap x/y and w/h: a column is a row of the transpose
    links = _UnionFind(len(boxes))
    if len(boxes) == 0:
        return links
    order = np.argsort(boxes[:, 0], kind="stable")
    ordered = boxes[order].astype(np.float64)
    lefts = ordered[:, 0]
    heights = ordered[:, 3]
    # Punctuation is short: a comma and the next word are as far apart as two words, so gaps are
    # measured against at least the page's typical character height, not the comma's.
    typical_h = float(np.median(boxes[boxes[:, 3] >= 4, 3])) if (boxes[:, 3] >= 4).any() else 0.0
    ordinary_h = max(float(np.percentile(heights, 99)), typical_h)
    reaches = ordered[:, 0] + ordered[:, 2] + gap * np.maximum(heights, ordinary_h)
    stops = np.searchsorted(lefts, reaches, side="right")
    for rank in range(len(ordered)):
        stop = int(stops[rank])
        if stop <= rank + 1:
            continue
        candidates = ordered[rank + 1:stop]
        # Partners taller than ordinary_h are left to their own look-back below.
        hits = np.flatnonzero(_pair_links(ordered[rank], candidates, gap, min_overlap, typical_h, columns)
                              & (candidates[:, 3] <= ordinary_h))
        for offset in hits.tolist():
            links.union(int(order[rank]), int(order[rank + 1 + offset]))
    for rank in np.flatnonzero(heights > ordinary_h).tolist():
        if rank == 0:
            continue
        hits = np.flatnonzero(_pair_links(ordered[:rank], ordered[rank], gap, min_overlap, typical_h, columns))
        for earlier in hits.tolist():
            links.union(int(order[earlier]), int(order[rank]))
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
    if not groups:
        return groups
    extents = np.array([(min(boxes[m, 0] for m in members), min(boxes[m, 1] for m in members),
                         max(boxes[m, 0] + boxes[m, 2] for m in members), max(boxes[m, 1] + boxes[m, 3] for m in members))
                        for members in groups], dtype=np.int64)
    x0, y0, x1, y1 = extents.T
    raw_area = (x1 - x0) * (y1 - y0)
    area = np.maximum(raw_area, 1)
    enclosed = np.zeros(len(groups), dtype=bool)
    # Pairwise in blocks: a noisy scan leaves thousands of one-speck groups, and a Python double
    # loop over them took longer than the whole rest of the page.
    for start in range(0, len(groups), 256):
        sl = slice(start, start + 256)
        inter = (np.maximum(0, np.minimum(x1[sl, None], x1[None]) - np.maximum(x0[sl, None], x0[None]))
                 * np.maximum(0, np.minimum(y1[sl, None], y1[None]) - np.maximum(y0[sl, None], y0[None])))
        larger = raw_area[None] > area[sl, None]  # only a strictly larger group can enclose (never itself)
        enclosed[sl] = (larger & (inter >= 0.8 * area[sl, None])).any(axis=1)
    return [members for members, inside in zip(groups, enclosed) if not inside]


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
        if gray.ndim == 3:  # a colour page, when the pack's networks read colour
            gray = cv2.cvtColor(gray, cv2.COLOR_BGR2GRAY)
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
