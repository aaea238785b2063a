"""Reading order and row assembly on boxes whose layout the test knows."""
from __future__ import annotations

import numpy as np

from edgeocr.assemble import join_row, reading_rows


def box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def test_a_table_row_is_one_row_left_to_right():
    quads = [box(400, 100, 470, 130), box(20, 100, 150, 130), box(250, 102, 330, 131), box(20, 160, 120, 190)]
    assert reading_rows(quads) == [[1, 2, 0], [3]]


def test_wide_gaps_get_two_spaces_narrow_ones_one():
    quads = [box(20, 100, 120, 130), box(130, 100, 200, 130), box(300, 100, 400, 130)]
    assert join_row(["Widget", "A", "3 x 12.50"], quads) == "Widget A  3 x 12.50"


def test_a_skewed_long_row_stays_one_row():
    quads = [box(20 + 100 * i, 100 + 6 * i, 110 + 100 * i, 130 + 6 * i) for i in range(8)]
    assert reading_rows(quads) == [list(range(8))]


def test_two_columns_are_read_one_after_the_other():
    # Left column lines at y = 100, 150, ...; right column offset by half a line: not a table.
    left = [box(20, 100 + 50 * i, 300, 130 + 50 * i) for i in range(5)]
    right = [box(400, 125 + 50 * i, 700, 155 + 50 * i) for i in range(5)]
    rows = reading_rows(left + right)
    assert rows == [[i] for i in range(10)]


def test_a_title_spanning_both_columns_comes_first():
    title = box(20, 20, 700, 60)
    left = [box(20, 100 + 50 * i, 300, 130 + 50 * i) for i in range(4)]
    right = [box(400, 125 + 50 * i, 700, 155 + 50 * i) for i in range(4)]
    rows = reading_rows([title] + left + right)
    assert rows == [[0]] + [[i] for i in range(1, 9)]


def test_aligned_columns_are_a_table_read_row_by_row():
    left = [box(20, 100 + 50 * i, 300, 130 + 50 * i) for i in range(5)]
    right = [box(400, 100 + 50 * i, 700, 130 + 50 * i) for i in range(5)]
    assert reading_rows(left + right) == [[i, i + 5] for i in range(5)]


def test_nothing_in_nothing_out():
    assert reading_rows([]) == [] and join_row([], []) == ""
