"""The classical (morphology) detector on rendered pages whose line boxes are known."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgeocr.detect import DetectedLine
from edgeocr.detect.classical import ClassicalDetector, ClassicalParams

from ..rendering import line_boxes, render_lines

LINES = ["Short", "A somewhat longer line of text", "12.50 TOTAL", "Words, numbers 2024 and more", "Quick brown fox"]


def bounds(quad: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def iou(quad: np.ndarray, box: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = bounds(quad)
    ix = max(0.0, min(x1, box[2]) - max(x0, box[0]))
    iy = max(0.0, min(y1, box[3]) - max(y0, box[1]))
    inter = ix * iy
    return inter / ((x1 - x0) * (y1 - y0) + (box[2] - box[0]) * (box[3] - box[1]) - inter)


def gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def detect(image: np.ndarray, params: ClassicalParams = ClassicalParams()) -> list[DetectedLine]:
    return sorted(ClassicalDetector(params).detect(gray(image)), key=lambda line: line.quad[:, 1].mean())


def assert_one_box_per_line(found: list[DetectedLine], boxes: list[tuple[int, int, int, int]]) -> None:
    assert len(found) == len(boxes)
    for line, box in zip(found, boxes):
        assert iou(line.quad, box) >= 0.5, (bounds(line.quad), box)


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return render_lines(LINES)


def test_one_box_per_line(page):
    found = detect(page)
    assert_one_box_per_line(found, line_boxes(LINES))
    for line in found:
        assert line.quad.shape == (4, 2) and line.quad.dtype == np.float32
        assert 0.0 < line.score <= 1.0
        tl, tr, br, bl = line.quad
        assert tl[0] < tr[0] and tl[1] < bl[1] and br[0] > bl[0]   # ordered corners


def test_boxes_cover_their_line_and_stay_on_the_page(page):
    height, width = page.shape[:2]
    for line, (x0, y0, x1, y1) in zip(detect(page), line_boxes(LINES)):
        qx0, qy0, qx1, qy1 = bounds(line.quad)
        assert qx0 <= x0 + 2 and qx1 >= x1 - 2 and qy0 <= y0 + 2 and qy1 >= y1 - 2
        assert qx0 >= 0 and qy0 >= 0 and qx1 <= width - 1 and qy1 <= height - 1


def test_white_on_black_text_is_found(page):
    assert_one_box_per_line(detect(255 - page), line_boxes(LINES))


@pytest.mark.parametrize("font_size", [16, 48])
def test_other_font_sizes(font_size):
    assert_one_box_per_line(detect(render_lines(LINES, font_size=font_size)), line_boxes(LINES, font_size=font_size))


def test_tightly_spaced_lines_stay_apart():
    assert_one_box_per_line(detect(render_lines(LINES, line_gap=0.3)), line_boxes(LINES, line_gap=0.3))


def test_table_rules_do_not_merge_lines(page):
    ruled = page.copy()
    boxes = line_boxes(LINES)
    for (_, _, _, bottom) in boxes:
        cv2.line(ruled, (5, bottom + 4), (ruled.shape[1] - 5, bottom + 4), (0, 0, 0), 2)
    cv2.line(ruled, (20, 5), (20, ruled.shape[0] - 5), (0, 0, 0), 1)   # and a frame on the left
    assert_one_box_per_line(detect(ruled), boxes)


def test_a_rule_touching_the_descenders_does_not_merge_lines(page):
    ruled = page.copy()
    boxes = line_boxes(LINES)
    for (_, _, _, bottom) in boxes:
        cv2.line(ruled, (5, bottom), (ruled.shape[1] - 5, bottom), (0, 0, 0), 1)
    assert_one_box_per_line(detect(ruled), boxes)


def test_a_turned_line_gives_one_tall_box():
    text = ["Rotated text line"]
    for turns in (1, 3):
        found = detect(np.ascontiguousarray(np.rot90(render_lines(text), turns)))
        assert len(found) == 1
        x0, y0, x1, y1 = bounds(found[0].quad)
        assert (y1 - y0) > 1.5 * (x1 - x0)
        assert (y1 - y0) > 0.8 * (line_boxes(text)[0][2] - line_boxes(text)[0][0])


@pytest.mark.parametrize("text", ["Total 12 items", "Turned sideways 77", "Meet at 10 am"])
def test_a_turned_line_with_short_words_gives_one_box(text):
    # Word spaces and two-character words ("12", "77") must not split a turned line.
    found = detect(np.ascontiguousarray(np.rot90(render_lines([text]))))
    assert len(found) == 1
    x0, y0, x1, y1 = bounds(found[0].quad)
    assert (y1 - y0) > 0.9 * (line_boxes([text])[0][2] - line_boxes([text])[0][0])


def test_a_slightly_skewed_line_is_one_box():
    text = ["A gently skewed line of text"]
    page = gray(render_lines(text, margin=60))
    h, w = page.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 4, 1.0)
    skewed = cv2.warpAffine(page, matrix, (w, h), borderValue=245)
    found = detect(skewed)
    assert len(found) == 1
    x0, y0, x1, y1 = bounds(found[0].quad)
    assert x1 - x0 > 0.9 * (line_boxes(text, margin=60)[0][2] - line_boxes(text, margin=60)[0][0])


def test_a_large_page_is_shrunk_for_detection_and_boxes_map_back(page):
    params = ClassicalParams(max_side=400)   # the page is about 600 px wide: detection runs at 2/3
    assert max(page.shape[:2]) > 400
    assert_one_box_per_line(detect(page, params), line_boxes(LINES))


def test_a_blank_page_has_no_lines():
    assert detect(np.full((300, 400), 250, np.uint8)) == []
    assert detect(np.zeros((300, 400), np.uint8)) == []


def test_a_drawn_circle_is_not_text():
    drawing = np.full((300, 400), 250, np.uint8)
    cv2.circle(drawing, (200, 150), 100, 0, 2)
    assert detect(drawing) == []


def test_a_circle_next_to_text_leaves_the_text_alone():
    text = ["Text beside a drawing"]
    page = render_lines(text)
    page = cv2.copyMakeBorder(page, 0, 260, 0, 0, cv2.BORDER_CONSTANT, value=(245, 245, 245))
    cv2.circle(page, (150, page.shape[0] - 130), 100, (0, 0, 0), 2)
    found = detect(page)
    assert len(found) <= 2
    assert max(iou(line.quad, line_boxes(text)[0]) for line in found) >= 0.5


def _brute_force_groups(boxes: np.ndarray, columns: bool) -> set[frozenset[int]]:
    """Every pair judged in left-edge order, with no search window: what _link_rows must equal."""
    from edgeocr.detect.classical import _UnionFind, _pair_links

    work = boxes[:, [1, 0, 3, 2, 4]] if columns else boxes
    typical_h = float(np.median(work[work[:, 3] >= 4, 3]))
    order = np.argsort(work[:, 0], kind="stable")
    links = _UnionFind(len(work))
    for a in range(len(order)):
        for b in range(a + 1, len(order)):
            i, j = int(order[a]), int(order[b])
            if _pair_links(work[i].astype(float), work[j].astype(float), 0.9, 0.5, typical_h, columns):
                links.union(i, j)
    groups: dict[int, set[int]] = {}
    for index in range(len(work)):
        groups.setdefault(links.find(index), set()).add(index)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("columns", [False, True])
def test_row_linking_finds_every_pair_a_full_search_finds(columns):
    """The windowed search (short reach for ordinary boxes, look-back for very tall ones) must
    link exactly what judging every pair links, tall smudges and specks included."""
    from edgeocr.detect.classical import _link_rows

    rng = np.random.default_rng(7)
    count = 400
    heights = rng.integers(4, 14, count)
    heights[:6] = rng.integers(60, 200, 6)  # a few tall components, like a stamp or a smudge
    widths = rng.integers(2, 20, count)
    xs = rng.integers(0, 600, count)
    ys = rng.integers(0, 400, count)
    boxes = np.stack([xs, ys, widths, heights, widths * heights // 2], axis=1).astype(np.int64)
    links = _link_rows(boxes, 0.9, 0.5, columns=columns)
    groups: dict[int, set[int]] = {}
    for index in range(count):
        groups.setdefault(links.find(index), set()).add(index)
    found = {frozenset(g) for g in groups.values()}
    assert found == _brute_force_groups(boxes, columns)
    assert any(len(g) > 1 for g in found)  # the page must actually link something


def test_a_noisy_page_with_one_tall_smudge_still_reads_its_line():
    """Thousands of specks and one tall blot used to make row linking compare every pair."""
    image = render_lines(["TOTAL 12.50"], font_size=32)
    canvas = np.full((900, 900, 3), 245, dtype=np.uint8)
    canvas[300:300 + image.shape[0], 100:100 + image.shape[1]] = image
    rng = np.random.default_rng(3)
    for x, y in rng.integers(0, 900, (3000, 2)):
        if not (280 <= y <= 300 + image.shape[0] + 20 and 80 <= x <= 120 + image.shape[1]):
            canvas[y:y + 2, x:x + 2] = 30
    cv2.rectangle(canvas, (800, 50), (830, 700), (30, 30, 30), -1)  # the smudge
    found = detect(canvas)
    line_box = (100 + 40, 300 + 40, 100 + image.shape[1] - 40, 300 + image.shape[0] - 40)
    assert any(iou(line.quad, line_box) > 0.3 for line in found)
