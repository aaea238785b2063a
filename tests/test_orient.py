"""Turning images and points together, and the votes that decide a page's orientation."""
from __future__ import annotations

import numpy as np
import pytest

from edgeocr.orient import box_direction, mostly_vertical, turn, turn_points, turned_size, vote_upside_down


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_points_follow_the_pixels_they_mark(angle):
    image = np.zeros((30, 50), np.uint8)
    image[5:7, 40:43] = 255                     # a mark at x 40..43, y 5..7 (edge coordinates)
    turned = turn(image, angle)
    assert turned.shape[::-1] == turned_size(50, 30, angle)
    corners = turn_points(np.array([[40, 5], [43, 7]], np.float32), angle, 50, 30)
    x0, y0 = corners.min(axis=0).astype(int)
    x1, y1 = corners.max(axis=0).astype(int)
    assert turned[y0:y1, x0:x1].all() and turned.sum() == 255 * 6


def test_box_direction_and_page_layout():
    assert box_direction(100, 20) == "horizontal" and box_direction(20, 100) == "vertical"
    assert box_direction(30, 25) == "square"
    assert mostly_vertical([(20, 100), (25, 120), (100, 20)])
    assert not mostly_vertical([(20, 100), (100, 20), (120, 25), (30, 30)])


def test_upside_down_vote_is_weighted_by_length():
    probabilities = np.array([0.95, 0.9, 0.1])
    assert vote_upside_down(probabilities)
    assert not vote_upside_down(probabilities, np.array([10, 10, 100]))
    assert not vote_upside_down(np.zeros(0))
