from __future__ import annotations

import cv2
import numpy as np

from edgeocr.detect.classical import ClassicalDetector

from ..rendering import line_boxes, render_lines

LINES = ["Short", "A somewhat longer line of text", "12.50 TOTAL", "Words, numbers 2024 and more"]


def iou(quad: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    ix = max(0.0, min(x1, box[2]) - max(x0, box[0]))
    iy = max(0.0, min(y1, box[3]) - max(y0, box[1]))
    inter = ix * iy
    return inter / ((x1 - x0) * (y1 - y0) + (box[2] - box[0]) * (box[3] - box[1]) - inter)


def detect(image: np.ndarray):
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return sorted(ClassicalDetector().detect(gray), key=lambda line: line.quad[:, 1].mean())


def test_one_box_per_line():
    found = detect(render_lines(LINES))
    assert len(found) == len(LINES)
    for line, box in zip(found, line_boxes(LINES)):
        assert iou(line.quad, box) >= 0.5


def test_light_text_on_dark_is_found():
    assert len(detect(255 - render_lines(LINES))) == len(LINES)


def test_table_rules_do_not_merge_lines():
    page = render_lines(LINES)
    for (_, _, _, bottom) in line_boxes(LINES):
        cv2.line(page, (5, bottom + 6), (page.shape[1] - 5, bottom + 6), (0, 0, 0), 1)
    cv2.line(page, (20, 5), (20, page.shape[0] - 5), (0, 0, 0), 1)
    assert len(detect(page)) == len(LINES)


def test_turned_line_gives_one_tall_box():
    found = detect(np.ascontiguousarray(np.rot90(render_lines(["Turned sideways 77"]))))
    assert len(found) == 1
    x0, y0 = found[0].quad.min(axis=0)
    x1, y1 = found[0].quad.max(axis=0)
    assert (y1 - y0) > 1.5 * (x1 - x0)


def test_blank_page_and_a_drawing_give_nothing():
    blank = np.full((300, 400), 250, np.uint8)
    assert detect(blank) == []
    cv2.circle(blank, (200, 150), 100, 0, 2)
    assert detect(blank) == []
