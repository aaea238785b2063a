"""Rendered training pages: reproducible from (seed, index), labels on the ink, in parallel too."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgeocr.train.fonts import latin_eval_fonts, latin_training_fonts
from edgeocr.train.pages import LAYOUTS, render_page, render_pages


@pytest.fixture(scope="module")
def fonts():
    return latin_training_fonts()


def test_a_page_is_a_pure_function_of_seed_and_index(fonts):
    first, again = render_page(5, 3, fonts), render_page(5, 3, fonts)
    assert np.array_equal(first.image, again.image)
    assert first.texts == again.texts and len(first.quads) == len(again.quads) > 0
    assert all(np.array_equal(a, b) for a, b in zip(first.quads, again.quads))
    other = render_page(5, 4, fonts)
    assert other.image.shape != first.image.shape or not np.array_equal(other.image, first.image)
    assert render_page(6, 3, fonts).texts != first.texts


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_gives_labelled_text_on_an_8_bit_page(fonts, layout):
    page = render_page(11, 0, fonts, layout=layout)
    assert page.image.dtype == np.uint8 and page.image.ndim == 2
    assert len(page.quads) == len(page.texts) >= 1
    h, w = page.image.shape
    for quad, text in zip(page.quads, page.texts):
        assert quad.shape == (4, 2) and text.strip() == text and text
        centre = quad.mean(axis=0)
        assert 0 <= centre[0] < w and 0 <= centre[1] < h
        # The box holds drawn text: its pixels are not all one grey.
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [np.round(quad).astype(np.int32)], 1)
        inside = page.image[mask.astype(bool)]
        assert inside.size and float(inside.std()) > 8.0, f"{layout}: empty box for {text!r}"


def ink(image: np.ndarray) -> np.ndarray:
    """Pixels that stand out from their neighbourhood: strokes, not light or shadow gradients."""
    background = cv2.medianBlur(image, 31)
    return np.abs(image.astype(np.int16) - background.astype(np.int16)) > 60


@pytest.mark.parametrize("index", range(4))
def test_the_labels_cover_the_ink_after_warping_and_degrading(fonts, index):
    # Documents have no rules or stamps: every stroke on them is text, so the labels must hold it.
    page = render_page(21, index, fonts, layout="document")
    strokes = ink(page.image)
    mask = np.zeros(page.image.shape, np.uint8)
    for quad in page.quads:
        cv2.fillPoly(mask, [np.round(quad).astype(np.int32)], 1)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))  # one pixel of rounding and blur
    covered = strokes[mask.astype(bool)].sum() / max(1, strokes.sum())
    assert strokes.sum() > 200
    assert covered > 0.97, f"only {covered:.1%} of the ink lies inside the labels"


def test_text_heights_range_from_small_print_to_signs(fonts):
    heights = []
    for index in range(6):
        for layout in ("screenshot", "sign"):
            for quad in render_page(31, index, fonts, layout=layout).quads:
                heights.append(float(np.linalg.norm(quad[3] - quad[0])))
    assert min(heights) < 16 and max(heights) > 60


def test_parallel_workers_render_the_same_pages(fonts):
    serial = render_pages(9, [0, 1, 2], fonts, workers=1)
    parallel = render_pages(9, [0, 1, 2], fonts, workers=2)
    for a, b in zip(serial, parallel):
        assert np.array_equal(a.image, b.image) and a.texts == b.texts


def test_evaluation_fonts_are_not_training_fonts():
    assert not set(latin_eval_fonts()) & set(latin_training_fonts())


def test_no_fonts_is_a_clear_error():
    with pytest.raises(ValueError, match="no fonts"):
        render_page(1, 0, [])
