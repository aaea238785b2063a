"""Detected lines to text: crop, orient (page and line), recognize, and keep what was done.

The page's orientation is decided before any line is read for good: mostly tall boxes mean a
page turned a quarter (or text set in columns, which reads the same way once turned), and the
recognizer's confidence on a few of the longest lines read both ways decides which quarter;
mostly wide boxes mean upright or upside down, and the line classifier's length-weighted vote
decides that. Each line is then turned by the page's angle, flipped alone where the classifier
is sure it is upside down, and read. Boxes come back in the input image's coordinates and, for
reading order, in the upright page's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ctc import DecodedText
from .detect import DetectedLine
from .geometry import clip_quad, crop_quad, order_corners, quad_size
from .orient import LineClassifier, box_direction, mostly_vertical, turn, turn_points, turned_size, vote_upside_down
from .inputspec import line_width
from .recognize import Recognizer
from .segment import part_quad, split_at_gaps

# How many of the longest tall lines are read both ways to tell a page turned 90 from one turned 270.
QUARTER_SAMPLE = 6


@dataclass(frozen=True)
class ReadLine:
    index: int                    # the detected line it came from
    text: DecodedText
    angle: int                    # counter-clockwise degrees the crop was turned before reading
    quad: np.ndarray              # its box on the input image (a part of the detected box, after a split)
    upright_quad: np.ndarray      # the same box in the upright page's frame (for reading order)
    direction: str                # horizontal or vertical, as the text runs on the input image


@dataclass(frozen=True)
class PageReading:
    lines: list[ReadLine]
    angle: int                    # counter-clockwise degrees the page was turned to stand upright
    upright_size: tuple[int, int]


def _quarter(crops: list[np.ndarray], sizes: list[tuple[float, float]], recognizer: Recognizer) -> int:
    """90 or 270: which quarter turn makes the longest tall lines read with more confidence."""
    tall = sorted((i for i, (w, h) in enumerate(sizes) if box_direction(w, h) == "vertical"),
                  key=lambda i: -sizes[i][1])[:QUARTER_SAMPLE]
    sample = [crops[i] for i in tall]
    ccw = recognizer.recognize([turn(c, 90) for c in sample])
    cw = recognizer.recognize([turn(c, 270) for c in sample])
    score_ccw = sum(t.confidence * len(t.text) for t in ccw)
    score_cw = sum(t.confidence * len(t.text) for t in cw)
    return 90 if score_ccw >= score_cw else 270


def _orient_by_classifier(classifier: LineClassifier, crops: list[np.ndarray], sizes: list[tuple[float, float]],
                          angles: list[int | None], page_vertical: bool) -> bool:
    """Turn ``angles`` by 180 where the classifier says so: all of them when the longest lines
    vote the (wide-lined) page upside down, and single lines where it is sure enough. True when
    the page itself is upside down."""
    along = [k for k, a in enumerate(angles) if a is not None]
    if not along:
        return False
    params = classifier.params
    per_line = params.line_threshold is not None
    if page_vertical and not per_line:
        return False   # a quarter-turned page's way up was settled by the recognizer already
    voters = along if per_line else sorted(along, key=lambda k: -max(sizes[k]))[:params.vote_sample]
    upside = classifier.upside_down([turn(crops[k], angles[k] or 0) for k in voters])
    page_upside_down = not page_vertical and vote_upside_down(upside, np.array([max(sizes[k]) for k in voters]))
    if page_upside_down:
        upside = 1.0 - upside
        for k in along:
            angles[k] = 180
    if per_line:
        for k, p in zip(voters, upside):
            if p > params.line_threshold:
                angles[k] = ((angles[k] or 0) + 180) % 360
    return page_upside_down


def read_page(page: np.ndarray, found: list[DetectedLine], recognizer: Recognizer,
              classifier: LineClassifier | None, beam_width: int = 0, split_gap: float = 0.0) -> PageReading:
    height, width = page.shape[:2]
    indices: list[int] = []
    crops: list[np.ndarray] = []
    sizes: list[tuple[float, float]] = []
    for index, line in enumerate(found):
        crop = crop_quad(page, clip_quad(line.quad, width, height))
        if crop.shape[0] < 4 or crop.shape[1] < 4:
            continue
        indices.append(index)
        crops.append(crop)
        sizes.append(quad_size(line.quad))
    if not crops:
        return PageReading([], 0, (width, height))

    page_vertical = mostly_vertical(sizes)
    page_angle = _quarter(crops, sizes, recognizer.primary) if page_vertical else 0
    # Per line: the angle to read it at, or None for a line running across the page's direction,
    # which is read both ways and the surer reading kept.
    angles: list[int | None] = []
    for w, h in sizes:
        direction = box_direction(w, h)
        across = (direction == "horizontal") if page_vertical else (direction == "vertical")
        angles.append((0 if page_vertical else None) if across else page_angle)

    if classifier is not None:
        if _orient_by_classifier(classifier, crops, sizes, angles, page_vertical):
            page_angle = 180

    jobs: list[tuple[int, int]] = []   # (position in crops, angle)
    both_ways: list[tuple[int, int]] = []   # read at 90 and at 270 by one model, so confidences compare
    for k, angle in enumerate(angles):
        if angle is None:
            both_ways += [(k, 90), (k, 270)]
        else:
            jobs.append((k, angle))
    texts = recognizer.recognize([turn(crops[k], angle) for k, angle in jobs], beam_width=beam_width)
    texts += recognizer.primary.recognize([turn(crops[k], angle) for k, angle in both_ways], beam_width=beam_width)
    best: dict[int, tuple[DecodedText, int]] = {}
    for (k, angle), text in zip(jobs + both_ways, texts):
        if k not in best or text.confidence > best[k][0].confidence:
            best[k] = (text, angle)

    lines = []
    for k, (text, angle) in sorted(best.items()):
        quad = found[indices[k]].quad
        reader = recognizer.reader_of(text)
        turned_h, turned_w = turn(crops[k], angle).shape[:2]
        input_width = line_width(turned_h, turned_w, reader.spec)
        parts = split_at_gaps(text, reader.stride, input_width, int(reader.spec.height or 0), split_gap)
        # The box's corners in reading order: turning the crop counter-clockwise by a quarter makes
        # its top-right corner the reading top-left, and so on round.
        reading = np.roll(quad, -(angle // 90), axis=0)
        for part in parts:
            part_box = quad if len(parts) == 1 else order_corners(part_quad(reading, part.start, part.end))
            upright = order_corners(turn_points(part_box, page_angle, width, height))
            lines.append(ReadLine(indices[k], part.text, angle, part_box, upright, box_direction(*sizes[k])))
    return PageReading(lines, page_angle, turned_size(width, height, page_angle))
