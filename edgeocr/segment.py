"""Split a recognized line at wide gaps, so a table row's cells come back as boxes of their own.

A DB detector draws one box around words that sit close, and on receipts that is often a whole
row (``1 X 3.88    3.88``). Where the recognizer put a space across a gap wider than
``min_gap`` line heights, the line is cut there: each part keeps its characters' probabilities
and gets the stretch of the box its characters' output frames cover. Text assembly joins the
parts of a row again for ``text``, so only the boxes in ``text_lines`` change.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ctc import DecodedText

# Padding around a part's characters, in line heights (frames mark ink centres, not its edges).
EDGE_PAD = 0.15


@dataclass(frozen=True)
class Part:
    text: DecodedText
    start: float          # where the part begins and ends along the line, as fractions of its length
    end: float


def split_at_gaps(text: DecodedText, stride: int, width: int, height: int, min_gap: float) -> list[Part]:
    """Parts of ``text`` (decoded from a line ``width`` × ``height`` px at the recognizer's input)."""
    whole = [Part(text, 0.0, 1.0)]
    if min_gap <= 0 or not text.frames or len(text.frames) != len(text.text) or width <= 0:
        return whole
    ink = [k for k, ch in enumerate(text.text) if not ch.isspace()]
    if len(ink) < 2:
        return whole
    cuts = []  # indices into ink: a part ends after ink[i]
    for i in range(len(ink) - 1):
        a, b = ink[i], ink[i + 1]
        if b - a > 1:  # a space was read between them
            gap_px = (text.frames[b][0] - text.frames[a][1] - 1) * stride
            if gap_px >= min_gap * height:
                cuts.append(i)
    if not cuts:
        return whole
    parts = []
    bounds = [-1, *cuts, len(ink) - 1]
    pad = EDGE_PAD * height / width
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        first, last = ink[lo + 1], ink[hi]
        start = max(0.0, text.frames[first][0] * stride / width - pad)
        end = min(1.0, (text.frames[last][1] + 1) * stride / width + pad)
        parts.append(Part(DecodedText(text.text[first : last + 1], text.char_probs[first : last + 1],
                                      text.frames[first : last + 1], text.reader), start, end))
    return parts


def part_quad(reading_corners: np.ndarray, start: float, end: float) -> np.ndarray:
    """The stretch ``start``..``end`` of a box given as corners in reading order (tl, tr, br, bl)."""
    tl, tr, br, bl = np.asarray(reading_corners, dtype=np.float32)
    return np.array([tl + (tr - tl) * start, tl + (tr - tl) * end, bl + (br - bl) * end, bl + (br - bl) * start],
                    dtype=np.float32)
