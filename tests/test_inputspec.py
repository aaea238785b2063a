"""InputSpec and to_batch: the tensor each model family gets, from its pack's declared convention."""
from __future__ import annotations

import numpy as np
import pytest

from edgeocr.errors import ModelPackError
from edgeocr.inputspec import InputSpec, line_width, resize_line, to_batch, to_channels
from edgeocr.packs import family_input


def test_crnn_convention_is_the_old_scaling_to_minus_one_one():
    spec = family_input("crnn-ctc")
    line = np.array([[0, 127, 255, 64]], dtype=np.uint8).repeat(32, axis=0)
    batch = to_batch([line], spec)
    assert batch.shape == (1, 1, 32, 32)                        # padded to the 32-column bucket
    assert np.allclose(batch[0, 0, 0, :4], line[0] / 127.5 - 1.0, atol=1e-6)
    assert np.allclose(batch[0, 0, 0, 4:], 64 / 127.5 - 1.0, atol=1e-6)   # edge padding repeats the last column


def test_ppocr_lines_are_colour_at_48_and_zero_padded_after_normalising():
    spec = family_input("ppocr-ctc")
    assert (spec.channels, spec.height, spec.pad) == (3, 48, "zero")
    crop = np.full((20, 50, 3), (10, 200, 250), np.uint8)
    line = resize_line(crop, spec)
    assert line.shape == (48, line_width(20, 50, spec), 3) == (48, 120, 3)
    batch = to_batch([line, line[:, :60]], spec)
    assert batch.shape == (2, 3, 48, 120)
    assert np.allclose(batch[0, :, 0, 0], (np.array([10, 200, 250]) / 255 - 0.5) / 0.5, atol=1e-6)  # BGR kept
    assert np.all(batch[1, :, :, 60:] == 0.0)                   # zero after normalisation, as PP-OCR trains


def test_rgb_order_and_per_channel_mean_std():
    spec = InputSpec(channels=3, color_order="rgb", mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 0.125))
    pixel = np.array([[[30, 60, 90]]], dtype=np.uint8)          # BGR
    rgb = to_channels(pixel, spec)
    assert rgb[0, 0].tolist() == [90, 60, 30]
    out = to_batch([rgb], spec)[0, :, 0, 0]
    expected = (np.array([90, 60, 30]) / 255 - np.array([0.1, 0.2, 0.3])) / np.array([0.5, 0.25, 0.125])
    assert np.allclose(out, expected, atol=1e-5)


def test_gray_pages_become_three_channels_for_colour_models_and_back():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    colour = to_channels(gray, InputSpec(channels=3))
    assert colour.shape == (3, 4, 3) and np.array_equal(colour[:, :, 1], gray)
    assert to_channels(colour, InputSpec(channels=1)).shape == (3, 4)


def test_widths_are_capped_and_stretched():
    spec = family_input("cls-0-180")
    assert line_width(48, 2000, spec) == 192 and line_width(48, 2, spec) == spec.min_width


@pytest.mark.parametrize("data, words", [
    ({"channels": 2}, "channels"), ({"pad": "mirror"}, "pad"), ({"std": [0.0]}, "std"),
    ({"mean": [0.1, 0.2]}, "mean"), ({"bogus": 1}, "bogus"), ({"height": 4}, "height"),
])
def test_bad_pack_input_settings_name_the_place(data, words):
    with pytest.raises(ModelPackError) as caught:
        InputSpec.from_dict(data, "pack x recognizer")
    assert "pack x recognizer" in caught.value.message and words in caught.value.message


def test_to_batch_refuses_mixed_heights_and_wrong_channels():
    spec = InputSpec(channels=1, height=32)
    with pytest.raises(ValueError):
        to_batch([np.zeros((32, 10), np.uint8), np.zeros((30, 10), np.uint8)], spec)
    with pytest.raises(ValueError):
        to_batch([np.zeros((32, 10, 3), np.uint8)], spec)
