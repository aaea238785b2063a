from __future__ import annotations

import numpy as np
import pytest

from edgeocr.ctc import DecodedText, beam_decode, greedy_decode

CHARSET = ["a", "b", "l"]  # classes: 0 blank, 1 a, 2 b, 3 l


def frames(*rows: list[float]) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


def test_greedy_merges_repeats_drops_blanks_and_keeps_max_probability():
    probs = frames([0.1, 0.8, 0.05, 0.05], [0.1, 0.9, 0.0, 0.0], [0.9, 0.1, 0.0, 0.0], [0.2, 0.0, 0.7, 0.1])
    decoded = greedy_decode(probs, CHARSET)
    assert decoded.text == "ab"
    assert decoded.char_probs == pytest.approx((0.9, 0.7))


def test_greedy_repeat_needs_a_blank_between():
    assert greedy_decode(frames([0, 0, 0, 1], [0, 0, 0, 1]), CHARSET).text == "l"
    assert greedy_decode(frames([0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1]), CHARSET).text == "ll"


def test_confidence_is_geometric_mean_and_zero_when_empty():
    assert DecodedText("ab", (0.25, 1.0)).confidence == pytest.approx(0.5)
    assert DecodedText("", ()).confidence == 0.0


def test_beam_agrees_with_greedy_on_peaked_input():
    probs = frames([0.05, 0.9, 0.03, 0.02], [0.9, 0.05, 0.03, 0.02], [0.02, 0.03, 0.05, 0.9])
    assert beam_decode(probs, CHARSET, 4).text == greedy_decode(probs, CHARSET).text == "al"


def test_beam_finds_the_labelling_greedy_misses():
    # Blank wins each frame (greedy: ""), but the paths spelling "a" add up to more mass.
    probs = frames([0.4, 0.35, 0.25, 0.0], [0.4, 0.35, 0.25, 0.0])
    assert greedy_decode(probs, CHARSET).text == ""
    # P("") = 0.16; P("a") = 0.35*0.35 + 0.35*0.4 + 0.4*0.35 = 0.4025
    assert beam_decode(probs, CHARSET, 5).text == "a"


def test_bad_arguments():
    with pytest.raises(ValueError):
        beam_decode(frames([1, 0, 0, 0]), CHARSET, 0)
    with pytest.raises(ValueError):
        greedy_decode(np.zeros((2, 3, 4), np.float32), CHARSET)
