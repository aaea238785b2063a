from __future__ import annotations

import cv2
import numpy as np

from edgeocr.geometry import crop_quad, is_vertical, order_corners, reading_order

from .rendering import render_lines


def test_order_corners_of_shuffled_and_rotated_rectangles():
    square = np.array([[10, 10], [50, 10], [50, 30], [10, 30]], np.float32)
    assert order_corners(square[[2, 0, 3, 1]]).tolist() == square.tolist()
    rotated = cv2.boxPoints(((100, 100), (80, 20), 10))
    ordered = order_corners(rotated)
    tl, tr, br, bl = ordered
    assert tl[0] < tr[0] and bl[0] < br[0] and tl[1] < bl[1] and tr[1] < br[1]


def test_axis_aligned_crop_is_the_slice():
    yy, xx = np.mgrid[0:60, 0:80]
    image = (xx * 3 + yy * 2).astype(np.uint8)
    quad = np.array([[10, 5], [50, 5], [50, 25], [10, 25]], np.float32)
    crop = crop_quad(image, quad)
    assert crop.shape == (20, 40)
    assert np.abs(crop[1:-1, 1:-1].astype(int) - image[6:24, 11:49].astype(int)).mean() < 3


def test_rotated_quad_is_cut_upright():
    page = cv2.cvtColor(render_lines(["Skewed text line"], font_size=30), cv2.COLOR_BGR2GRAY)
    h, w = page.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 8, 1.0)
    skewed = cv2.warpAffine(page, matrix, (w, h), borderValue=245)
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    moved = cv2.transform(corners[None], matrix)[0]
    crop = crop_quad(skewed, order_corners(moved))
    upright = cv2.resize(crop, (w, h))
    correlation = np.corrcoef(upright.ravel().astype(float), page.ravel().astype(float))[0, 1]
    assert correlation > 0.8


def test_is_vertical():
    assert is_vertical(np.zeros((100, 20)))
    assert not is_vertical(np.zeros((20, 100)))


def box(x: float, y: float, w: float = 40, h: float = 20) -> np.ndarray:
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def test_reading_order_rows_then_columns():
    quads = [box(200, 100), box(10, 12), box(100, 100), box(200, 8), box(10, 100), box(100, 10)]
    assert reading_order(quads) == [1, 5, 3, 4, 2, 0]


def test_skewed_row_stays_one_row():
    quads = [box(10, 10), box(60, 14), box(110, 18), box(10, 60)]
    assert reading_order(quads) == [0, 1, 2, 3]
