"""The shared accuracy measures: word F1, line CER matching, quad IoU and detection H-mean."""
from __future__ import annotations

import numpy as np
import pytest

from edgeocr.evaluation import (DetectionCounts, WordCounts, line_edits, load_labelled_pages, parse_box_line,
                                quad_iou)


def box(x1, y1, x2, y2):
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float32)


def test_box_line_keeps_commas_in_the_text():
    line = parse_box_line("1,2,30,2,30,12,1,12,NO.53 55,57 & 59, JALAN\n")
    assert line.text == "NO.53 55,57 & 59, JALAN"
    assert line.quad.shape == (4, 2) and line.quad[2].tolist() == [30, 12]
    assert parse_box_line("1,2,3") is None
    assert parse_box_line("a,2,3,4,5,6,7,8,text") is None


def test_word_counts_are_case_insensitive_multisets():
    counts = WordCounts()
    counts.add(["total 12.00", "TOTAL"], ["TOTAL 12.00", "Cash 12.00"])
    # predicted: total x2, 12.00; truth: total, 12.00 x2, cash -> matched total + 12.00
    assert (counts.matched, counts.predicted, counts.truth) == (2, 3, 4)
    assert counts.precision == pytest.approx(2 / 3)
    assert counts.recall == pytest.approx(0.5)
    assert counts.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


def test_line_edits_match_each_truth_line_once_and_charge_unmatched_lines():
    edits, chars = line_edits(["Total 12.00"], ["TOTAL 12.00", "TOTAL 12.0O"])
    # The longer-first order is a tie; the first truth takes the exact match, the second is unmatched.
    assert chars == 20 and edits == 10
    edits, chars = line_edits(["T0TAL 12.00", "cash"], ["total 12.00", "CASH"])
    assert (edits, chars) == (1, 14)
    assert line_edits([], ["abc"]) == (3, 3)
    assert line_edits(["extra line"], []) == (0, 0)


def test_quad_iou_and_one_to_one_matching():
    assert quad_iou(box(0, 0, 10, 10), box(0, 0, 10, 10)) == pytest.approx(1.0)
    assert quad_iou(box(0, 0, 10, 10), box(5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert quad_iou(box(0, 0, 10, 10), box(20, 20, 30, 30)) == 0.0
    counts = DetectionCounts()
    # Two predictions over one truth box: only one may match it.
    counts.add([box(0, 0, 10, 10), box(1, 0, 11, 10), box(50, 50, 60, 60)], [box(0, 0, 10, 10), box(0, 20, 10, 30)])
    assert (counts.matched, counts.predicted, counts.truth) == (1, 3, 2)
    assert counts.hmean == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))


def test_labelled_pages_load_from_an_sroie_layout(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "box").mkdir()
    (tmp_path / "img" / "007.jpg").write_bytes(b"not decoded here")
    (tmp_path / "box" / "007.csv").write_text("0,0,9,0,9,9,0,9,HELLO, WORLD\n0,0,1,0,1,1,0,1,  \nbroken\n")
    (tmp_path / "img" / "008.jpg").write_bytes(b"no labels")
    pages = load_labelled_pages(tmp_path)
    assert [p.name for p in pages] == ["007"]
    assert [line.text for line in pages[0].lines] == ["HELLO, WORLD"]
    with pytest.raises(FileNotFoundError):
        load_labelled_pages(tmp_path / "missing")
