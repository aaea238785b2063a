"""Quadrilateral geometry: corner order, perspective crops, vertical crops, reading order."""
from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from edgeocr.geometry import (clip_quad, crop_quad, is_vertical, order_corners, quad_from_rect, quad_size,
                              reading_order)

from .rendering import line_boxes, render_lines


def box(x: float, y: float, w: float = 40, h: float = 20) -> np.ndarray:
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


# --- order_corners --------------------------------------------------------------------------------


@pytest.mark.parametrize("permutation", list(itertools.permutations(range(4))))
def test_order_corners_of_a_shuffled_rectangle(permutation):
    rectangle = box(10, 10, 40, 20)  # tl, tr, br, bl
    ordered = order_corners(rectangle[list(permutation)])
    assert ordered.dtype == np.float32 and ordered.shape == (4, 2)
    assert ordered.tolist() == rectangle.tolist()


def rotated_corners(center: tuple[float, float], size: tuple[float, float], degrees: float) -> np.ndarray:
    """tl, tr, br, bl of a w x h rectangle turned by ``degrees`` (clockwise on screen, y down)."""
    w, h = size
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    t = np.deg2rad(degrees)
    rotation = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return (local @ rotation.T + np.array(center)).astype(np.float32)


@pytest.mark.parametrize("degrees", [-30, -10, 5, 10, 30])
@pytest.mark.parametrize("permutation", [(0, 1, 2, 3), (2, 0, 3, 1), (3, 2, 1, 0), (1, 3, 0, 2)])
def test_order_corners_of_a_shuffled_rotated_rectangle(degrees, permutation):
    expected = rotated_corners((100, 100), (80, 20), degrees)
    ordered = order_corners(expected[list(permutation)])
    assert np.allclose(ordered, expected, atol=1e-4)
    tl, tr, br, bl = ordered
    assert tl[0] < tr[0] and bl[0] < br[0]
    assert tl[1] < bl[1] and tr[1] < br[1]


def test_quad_from_rect_is_ordered():
    quad = quad_from_rect(((100, 50), (80, 20), 0))
    assert np.allclose(quad, [[60, 40], [140, 40], [140, 60], [60, 60]])


def test_quad_size_and_clip():
    quad = box(10, 10, 40, 20)
    assert quad_size(quad) == pytest.approx((40.0, 20.0))
    assert quad_size(rotated_corners((0, 0), (80, 20), 25)) == pytest.approx((80.0, 20.0), abs=1e-3)
    clipped = clip_quad(box(-5, -5, 200, 50), width=100, height=30)
    assert clipped[:, 0].min() == 0 and clipped[:, 0].max() == 99
    assert clipped[:, 1].min() == 0 and clipped[:, 1].max() == 29


# --- crop_quad ------------------------------------------------------------------------------------


def test_axis_aligned_crop_is_the_slice():
    yy, xx = np.mgrid[0:60, 0:80]
    image = (xx * 3 + yy * 2).astype(np.uint8)   # every pixel tells where it came from
    crop = crop_quad(image, box(10, 5, 40, 20))
    assert crop.shape == (20, 40)
    difference = crop.astype(int) - image[5:25, 10:50].astype(int)
    # The quad's far corners land on the crop's last pixels, so the crop may be stretched by up to
    # one source pixel (3 grey levels across, 2 down) but never shifted or flipped.
    assert difference[0, 0] == 0
    assert difference.min() >= 0 and difference.max() <= 5
    assert np.abs(difference).mean() < 3


def test_axis_aligned_crop_of_a_colour_page_keeps_channels():
    page = render_lines(["Crop me"], font_size=24)
    page[:, :, 2] = 255  # red tint everywhere
    (x0, y0, x1, y1), = line_boxes(["Crop me"], font_size=24)
    crop = crop_quad(page, box(x0, y0, x1 - x0, y1 - y0))
    assert crop.shape == (y1 - y0, x1 - x0, 3)
    assert crop[:, :, 2].min() == 255
    assert correlation(crop[:, :, 0], page[y0:y1, x0:x1, 0]) > 0.8


def test_axis_aligned_integer_crop_is_exactly_the_slice():
    yy, xx = np.mgrid[0:60, 0:80]
    image = (xx * 3 + yy * 2).astype(np.uint8)
    crop = crop_quad(image, box(10, 5, 40, 20))
    assert np.abs(crop.astype(int) - image[5:25, 10:50].astype(int)).max() <= 1


@pytest.mark.parametrize("degrees", [-20, 12, 35])
def test_crop_of_a_rotated_line_is_upright(degrees):
    text = ["Upright crop 42"]
    page = cv2.cvtColor(render_lines(text, font_size=28, margin=80), cv2.COLOR_BGR2GRAY)
    (x0, y0, x1, y1), = line_boxes(text, font_size=28, margin=80)
    x0, y0, x1, y1 = x0 - 4, y0 - 4, x1 + 4, y1 + 4
    reference = page[y0:y1, x0:x1]
    h, w = page.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    turned = cv2.warpAffine(page, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=245)
    corners = cv2.transform(box(x0, y0, x1 - x0, y1 - y0)[None], matrix)[0]
    shuffled = corners[[2, 0, 3, 1]]
    crop = crop_quad(turned, order_corners(shuffled))
    assert abs(crop.shape[0] - reference.shape[0]) <= 1 and abs(crop.shape[1] - reference.shape[1]) <= 1
    crop = cv2.resize(crop, (reference.shape[1], reference.shape[0]))
    assert correlation(crop, reference) > 0.85
    # Upside down or mirrored would not match: the test can tell upright from turned.
    assert correlation(np.rot90(crop, 2), reference) < 0.5
    assert correlation(crop[:, ::-1], reference) < 0.5


# --- is_vertical ----------------------------------------------------------------------------------


def test_is_vertical():
    assert is_vertical(np.zeros((100, 20)))
    assert is_vertical(np.zeros((150, 100)))          # exactly 1.5 times as tall
    assert not is_vertical(np.zeros((149, 100)))
    assert not is_vertical(np.zeros((20, 100)))
    assert not is_vertical(np.zeros((50, 50, 3)))


# --- reading_order --------------------------------------------------------------------------------


def test_reading_order_of_nothing():
    assert reading_order([]) == []


def test_reading_order_of_a_shuffled_grid_is_row_major():
    grid = [box(x, y) for y in (10, 60) for x in (10, 100, 200)]   # row-major: 0..5
    shuffle = [4, 0, 5, 2, 3, 1]
    quads = [grid[i] for i in shuffle]
    order = reading_order(quads)
    assert [shuffle[i] for i in order] == [0, 1, 2, 3, 4, 5]
    assert sorted(order) == list(range(6))


def test_reading_order_tolerates_small_vertical_jitter():
    quads = [box(200, 100), box(10, 12), box(100, 100), box(200, 8), box(10, 100), box(100, 10)]
    assert reading_order(quads) == [1, 5, 3, 4, 2, 0]


def test_slightly_skewed_row_stays_one_row():
    quads = [box(110, 18), box(10, 10), box(60, 14), box(10, 60), box(60, 64)]
    assert reading_order(quads) == [1, 2, 0, 3, 4]


def test_long_row_rising_to_the_right_stays_one_row():
    # Eight words, each 2 px higher than the last (about 2.3 degrees of skew), then a second line.
    first = [box(10 + 50 * i, 44 - 2 * i) for i in range(8)]
    second = [box(10 + 50 * i, 104 - 2 * i) for i in range(8)]
    assert reading_order(first + second) == list(range(16))


def test_long_row_falling_to_the_right_keeps_its_order():
    first = [box(10 + 50 * i, 10 + 2 * i) for i in range(8)]
    second = [box(10 + 50 * i, 70 + 2 * i) for i in range(8)]
    assert reading_order(first + second) == list(range(16))


def test_vertical_boxes_use_their_width_as_height():
    # Two tall, narrow boxes side by side at slightly different heights are one row.
    tall = [box(60, 14, w=20, h=100), box(10, 10, w=20, h=100)]
    assert reading_order(tall) == [1, 0]
