"""The en-latin-v2 training set: reproducible, Latin-labelled, other scripts marked, and trainable."""
from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the [train] extra (torch)")

from edgeocr.cascade import FOREIGN_MARK  # noqa: E402
from edgeocr.train.fonts import latin_training_fonts  # noqa: E402
from edgeocr.train.profiles import get_profile  # noqa: E402
from edgeocr.train.scan_data import ScanLines, scan_charset, scan_training_fonts, to_label_text  # noqa: E402
from edgeocr.train.train import TrainConfig, train  # noqa: E402


def test_a_sample_is_a_pure_function_of_seed_and_index():
    a = ScanLines(4, 100, scan_charset(), scan_training_fonts())
    b = ScanLines(4, 100, scan_charset(), scan_training_fonts())
    for index in (0, 17, 99):
        (image_a, text_a), (image_b, text_b) = a.sample(index), b.sample(index)
        assert text_a == text_b and np.array_equal(image_a, image_b)
    assert a.sample(1)[1] != a.sample(2)[1] or not np.array_equal(a.sample(1)[0], a.sample(2)[0])


def test_characters_of_another_script_are_labelled_with_the_mark():
    charset = scan_charset()
    assert to_label_text("合计 12.50", charset) == f"{FOREIGN_MARK}{FOREIGN_MARK} 12.50"
    assert to_label_text("TOTAL ¥12", charset) == "TOTAL ¥12"


def test_the_set_holds_marked_lines_and_every_label_is_in_the_charset():
    data = ScanLines(1, 400, scan_charset(), scan_training_fonts())
    labels = [data.sample(i)[1] for i in range(200)]
    assert all(set(label) <= set(scan_charset()) for label in labels)
    marked = sum(FOREIGN_MARK in label for label in labels)
    if any("的" in str(f) or "CJK" in str(f) or "wqy" in str(f) for f in scan_training_fonts()):
        assert 5 <= marked <= 50, marked  # ~10 % of lines are Chinese or mixed
    for index in range(5):
        image, _ = data.sample(index)
        assert image.dtype == np.uint8 and image.shape[0] == 32 and image.shape[1] >= 4


def test_neighbour_lines_reach_into_the_margins_above_and_below():
    from edgeocr.train.scan import _text_layer, _with_neighbours

    font = latin_training_fonts()[0]
    main = _text_layer("TOTAL 12.50", font, 30, 0, 1.0)
    other = _text_layer("SUBTOTAL 11.00", font, 30, 0, 1.0)
    canvas, (_, y0, _, y1) = _with_neighbours(main, [other, other], random.Random(5))
    half = (y1 - y0) // 2
    assert canvas[y0 - half : y0].max() > 0.5   # the line above, within half a line of ours
    assert canvas[y1 : y1 + half].max() > 0.5   # and the one below
    alone, _ = _with_neighbours(main, [None, None], random.Random(5))
    assert alone[y0 - half : y0].max() == 0 and alone[y1 : y1 + half].max() == 0


def test_the_v2_profile_trains_a_few_steps_on_its_own_dataset(tmp_path):
    profile = get_profile("latin-v2")
    config = TrainConfig(seed=2, steps=4, batch_size=8, warmup_steps=1, channels=(8, 16, 16, 16, 32, 32),
                         hidden=16, max_width=256, workers=0, val_size=8, val_every=4, val_batch_size=8, threads=2)
    best = train(config, tmp_path, charset=profile.charset(), fonts=profile.fonts()[:6],
                 sample_text=profile.sample_text, dataset=profile.dataset, log=lambda _: None)
    state = torch.load(best, weights_only=False)
    assert state["charset"][-1] == FOREIGN_MARK and state["step"] == 4
