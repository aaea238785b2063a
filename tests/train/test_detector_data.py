"""DB targets: polygon offsets, shrunk probability kernels, threshold bands, crops."""
from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

pytest.importorskip("torch", reason="training needs the [train] extra (torch)")

from edgeocr.train.detector_data import (MIN_TEXT_HEIGHT, THRESH_MAX, THRESH_MIN, DetectionPages, PageSpec,  # noqa: E402
                                         make_targets, offset_convex, random_crop, shrink_distance)
from edgeocr.train.fonts import latin_training_fonts  # noqa: E402

BOX = np.array([[10, 10], [110, 10], [110, 30], [10, 30]], np.float32)   # 100 x 20


def test_offset_moves_every_edge_of_a_rectangle():
    assert np.allclose(offset_convex(BOX, -5), [[15, 15], [105, 15], [105, 25], [15, 25]])
    assert np.allclose(offset_convex(BOX, 4), [[6, 6], [114, 6], [114, 34], [6, 34]])
    # The corner order given does not matter (counter-clockwise in, same rectangle out).
    assert np.allclose(sorted(map(tuple, offset_convex(BOX[::-1], -5))), sorted(map(tuple, offset_convex(BOX, -5))))


def test_offset_of_a_rotated_quad_keeps_its_angle_and_area_rule():
    quad = cv2.boxPoints(((200, 200), (120, 30), 25)).astype(np.float32)
    shrunk = offset_convex(quad, -6)
    (_, _), (w, h), angle = cv2.minAreaRect(shrunk)
    assert sorted((w, h)) == pytest.approx([18, 108], abs=0.05)
    assert cv2.minAreaRect(quad)[2] == pytest.approx(angle, abs=0.01)


def test_a_shrink_wider_than_the_polygon_collapses():
    assert offset_convex(BOX, -10.5) is None
    assert offset_convex(BOX, -9.5) is not None


def test_shrink_distance_is_area_times_one_minus_r_squared_over_perimeter():
    assert shrink_distance(BOX) == pytest.approx(100 * 20 * (1 - 0.16) / 240)


def test_targets_mark_the_shrunk_kernel_and_a_threshold_band():
    targets = make_targets((60, 140), [BOX])
    d = shrink_distance(BOX)
    prob = targets["prob"]
    assert prob[20, 60] == 1.0                                     # centre of the text
    assert prob[12, 60] == 0.0 and prob[20, 12] == 0.0             # inside the box but outside the kernel
    assert prob[int(10 + d) + 1, 60] == 1.0
    assert prob.sum() == pytest.approx((100 - 2 * d + 1) * (20 - 2 * d + 1), rel=0.05)  # fill includes the edge pixels
    assert (targets["prob_mask"] == 1).all()
    thresh, band = targets["thresh"], targets["thresh_mask"]
    assert thresh.min() >= THRESH_MIN - 1e-6 and thresh.max() <= THRESH_MAX + 1e-6
    assert thresh[10, 60] == pytest.approx(THRESH_MAX, abs=0.02)   # on the border: highest
    assert thresh[10, 60] > thresh[14, 60] > thresh[20, 60] - 1e-6 # falls off away from it
    assert band[10 - int(d) + 1, 60] == 1 and band[2, 60] == 0 and band[20, 60] == 1


def test_tiny_text_is_masked_out_not_taught_as_background():
    tiny = np.array([[10, 40], [40, 40], [40, 40 + MIN_TEXT_HEIGHT - 2], [10, 40 + MIN_TEXT_HEIGHT - 2]], np.float32)
    targets = make_targets((60, 140), [BOX, tiny])
    assert targets["prob"][41:44, 12:38].sum() == 0
    assert targets["prob_mask"][42, 20] == 0 and targets["prob_mask"][20, 60] == 1


def test_random_crop_moves_labels_with_the_pixels():
    image = np.full((400, 600), 230, np.uint8)
    quad = np.array([[300, 200], [420, 200], [420, 230], [300, 230]], np.float32)
    image[205:225, 305:415] = 20
    for seed in range(5):
        crop, quads = random_crop(image, [quad], 256, random.Random(seed))
        assert crop.shape == (256, 256)
        for moved in quads:
            x0, y0 = np.clip(moved.min(axis=0) + 6, 0, 255).astype(int)
            x1, y1 = np.clip(moved.max(axis=0) - 6, 0, 255).astype(int)
            if x1 > x0 and y1 > y0:
                assert crop[y0:y1, x0:x1].mean() < 100     # the label still sits on the dark block


def test_dataset_samples_are_reproducible_and_shaped():
    spec = PageSpec(seed=4, size=2, crop=128, crops_per_page=2)
    fonts = latin_training_fonts()[:3]
    first, again = DetectionPages(spec, fonts)[1], DetectionPages(spec, fonts)[1]
    assert len(DetectionPages(spec, fonts)) == 4
    for key in ("image", "prob", "prob_mask", "thresh", "thresh_mask"):
        assert first[key].shape == (1, 128, 128)
        assert np.array_equal(first[key].numpy(), again[key].numpy())
