"""Pre-processing switches, each on a rendered page with a known ink mask."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgeocr.config import PreprocessConfig
from edgeocr.preprocess import preprocess, to_gray

from .rendering import render_lines

TEXT = ["Preprocess this page", "Second line 12.50"]


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return render_lines(TEXT, font_size=24)


@pytest.fixture(scope="module")
def masks(page) -> tuple[np.ndarray, np.ndarray]:
    """(ink, paper) boolean masks of the clean page."""
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    return gray < 100, gray > 240


@pytest.fixture(scope="module")
def faded() -> np.ndarray:
    """The same page with grey ink on grey paper (contrast 30 instead of 225)."""
    return render_lines(TEXT, font_size=24, fg=110, bg=140)


def contrast(gray: np.ndarray, masks: tuple[np.ndarray, np.ndarray]) -> float:
    ink, paper = masks
    return float(gray[paper].mean() - gray[ink].mean())


def sharpness(gray: np.ndarray) -> float:
    return float(np.abs(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F)).mean())


SWITCHES = {
    "defaults": PreprocessConfig(),
    "colour": PreprocessConfig(grayscale=False),
    "clahe": PreprocessConfig(clahe=True),
    "denoise": PreprocessConfig(denoise=True),
    "sharpen": PreprocessConfig(sharpen=True),
    "threshold": PreprocessConfig(adaptive_threshold=True),
    "everything": PreprocessConfig(grayscale=False, clahe=True, denoise=True, sharpen=True, adaptive_threshold=True),
}


@pytest.mark.parametrize("name", list(SWITCHES))
def test_output_is_2d_uint8_of_the_same_size_and_input_is_untouched(page, name):
    original = page.copy()
    out = preprocess(page, SWITCHES[name])
    assert out.ndim == 2 and out.dtype == np.uint8
    assert out.shape == page.shape[:2]
    assert out.flags["C_CONTIGUOUS"]
    assert np.array_equal(page, original)


def test_defaults_give_the_luma(page):
    out = preprocess(page, PreprocessConfig())
    assert np.array_equal(out, cv2.cvtColor(page, cv2.COLOR_BGR2GRAY))
    assert np.array_equal(to_gray(page), out)


def test_a_grey_input_passes_through_unchanged(page):
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    assert np.array_equal(preprocess(gray, PreprocessConfig()), gray)
    assert np.array_equal(preprocess(gray, PreprocessConfig(grayscale=False)), gray)
    assert to_gray(gray) is gray


def test_colour_mode_picks_the_channel_with_the_most_contrast(masks):
    ink, _ = masks
    # Red ink on green paper: nearly the same luma, but very different red and green channels.
    coloured = np.empty((*ink.shape, 3), np.uint8)
    coloured[:] = (0, 160, 60)         # BGR green paper
    coloured[ink] = (0, 60, 200)       # BGR red ink
    luma = preprocess(coloured, PreprocessConfig(grayscale=True))
    picked = preprocess(coloured, PreprocessConfig(grayscale=False))
    assert np.array_equal(picked, coloured[:, :, 2])      # the red channel: 200 vs 60
    assert abs(contrast(picked, masks)) > 100
    assert abs(contrast(luma, masks)) < 25
    assert abs(contrast(picked, masks)) > 4 * abs(contrast(luma, masks))


def test_adaptive_threshold_gives_black_ink_on_white(page, masks):
    out = preprocess(page, PreprocessConfig(adaptive_threshold=True))
    assert set(np.unique(out).tolist()) == {0, 255}
    ink, paper = masks
    assert (out[ink] == 0).mean() > 0.95
    assert (out[paper] == 255).mean() > 0.95


def test_adaptive_threshold_recovers_a_faded_page(faded, masks):
    out = preprocess(faded, PreprocessConfig(adaptive_threshold=True, adaptive_block_size=15))
    assert set(np.unique(out).tolist()) == {0, 255}
    assert contrast(out, masks) > 200


def test_clahe_raises_local_contrast_of_a_faded_page(faded, masks):
    before = contrast(preprocess(faded, PreprocessConfig()), masks)
    after = contrast(preprocess(faded, PreprocessConfig(clahe=True)), masks)
    stronger = contrast(preprocess(faded, PreprocessConfig(clahe=True, clahe_clip_limit=8.0)), masks)
    assert before == pytest.approx(30, abs=3)
    assert after > before + 5
    assert stronger > after


def test_denoise_removes_noise_and_keeps_the_text(page, masks):
    noise = np.random.default_rng(0).normal(0, 20, page.shape)
    noisy = np.clip(page.astype(float) + noise, 0, 255).astype(np.uint8)
    plain = preprocess(noisy, PreprocessConfig())
    cleaned = preprocess(noisy, PreprocessConfig(denoise=True))
    margin = (slice(0, 25), slice(None))      # above the first line: paper only
    assert plain[margin].std() > 8
    assert cleaned[margin].std() < plain[margin].std() / 2
    assert contrast(cleaned, masks) > 150


def test_sharpen_steepens_edges_and_leaves_flat_paper_alone(page):
    blurred = cv2.GaussianBlur(page, (0, 0), 1.2)
    plain = preprocess(blurred, PreprocessConfig())
    sharp = preprocess(blurred, PreprocessConfig(sharpen=True))
    assert sharpness(sharp) > 1.3 * sharpness(plain)
    assert np.array_equal(sharp[:15, :], plain[:15, :])   # an unsharp mask of a flat area is the area


def test_each_switch_changes_the_output(page):
    noisy = np.clip(page.astype(int) + np.random.default_rng(1).integers(-15, 16, page.shape), 0, 255).astype(np.uint8)
    base = preprocess(noisy, PreprocessConfig())
    for name in ("clahe", "denoise", "sharpen", "threshold"):
        assert not np.array_equal(preprocess(noisy, SWITCHES[name]), base), name
