"""CTC decoding on hand-built (T, C) probability arrays; class 0 is the blank, class k is CHARSET[k-1]."""
from __future__ import annotations

import math

import numpy as np
import pytest

from edgeocr.ctc import DecodedText, beam_decode, greedy_decode, restore_spaces

CHARSET = ["a", "b", "l"]  # classes: 0 blank, 1 a, 2 b, 3 l
BLANK, A, B, L = range(4)


def frames(*rows: list[float]) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


def peaked(labels: list[int], p: float = 0.9, classes: int = 4) -> np.ndarray:
    """One frame per label with probability ``p`` on it and the rest spread evenly."""
    probs = np.full((len(labels), classes), (1.0 - p) / (classes - 1), dtype=np.float32)
    probs[np.arange(len(labels)), labels] = p
    return probs


# --- greedy ---------------------------------------------------------------------------------------


def test_greedy_merges_repeats_and_drops_blanks():
    probs = peaked([BLANK, A, A, A, BLANK, BLANK, B, B, BLANK, L])
    assert greedy_decode(probs, CHARSET).text == "abl"


def test_greedy_keeps_repeats_separated_by_a_blank():
    assert greedy_decode(peaked([L, L]), CHARSET).text == "l"
    assert greedy_decode(peaked([L, BLANK, L]), CHARSET).text == "ll"
    assert greedy_decode(peaked([A, L, L, BLANK, L, A]), CHARSET).text == "alla"


def test_greedy_all_blank_is_empty():
    decoded = greedy_decode(peaked([BLANK, BLANK, BLANK]), CHARSET)
    assert decoded.text == "" and decoded.char_probs == ()
    assert decoded.confidence == 0.0


def test_greedy_char_probability_is_the_max_over_its_frames():
    probs = frames([0.1, 0.6, 0.2, 0.1],    # a 0.6
                   [0.05, 0.9, 0.0, 0.05],  # a 0.9 (same a)
                   [0.2, 0.7, 0.1, 0.0],    # a 0.7 (same a)
                   [0.9, 0.1, 0.0, 0.0],    # blank
                   [0.2, 0.0, 0.55, 0.25],  # b 0.55
                   [0.1, 0.0, 0.3, 0.6])    # l 0.6
    decoded = greedy_decode(probs, CHARSET)
    assert decoded.text == "abl"
    assert decoded.char_probs == pytest.approx((0.9, 0.55, 0.6))


def test_greedy_separated_repeats_keep_their_own_probabilities():
    probs = frames([0.1, 0.0, 0.0, 0.9], [0.8, 0.0, 0.0, 0.2], [0.3, 0.0, 0.0, 0.7])
    decoded = greedy_decode(probs, CHARSET)
    assert decoded.text == "ll"
    assert decoded.char_probs == pytest.approx((0.9, 0.7))


def test_greedy_with_the_blank_last():
    # With blank at index C-1, class k is CHARSET[k].
    probs = peaked([0, 3, 1, 3, 2], classes=4)
    assert greedy_decode(probs, CHARSET, blank=3).text == "abl"


def test_confidence_is_the_geometric_mean():
    assert DecodedText("ab", (0.25, 1.0)).confidence == pytest.approx(0.5)
    assert DecodedText("abc", (0.5, 0.5, 0.5)).confidence == pytest.approx(0.5)
    assert DecodedText("abc", (0.9, 0.8, 0.1)).confidence == pytest.approx((0.9 * 0.8 * 0.1) ** (1 / 3))
    assert DecodedText("", ()).confidence == 0.0
    # A zero probability does not blow up the logarithm.
    assert 0.0 <= DecodedText("a", (0.0,)).confidence < 1e-6


def test_greedy_confidence_matches_its_char_probs():
    probs = frames([0.1, 0.8, 0.05, 0.05], [0.9, 0.1, 0.0, 0.0], [0.1, 0.0, 0.5, 0.4])
    decoded = greedy_decode(probs, CHARSET)
    assert decoded.text == "ab"
    assert decoded.confidence == pytest.approx(math.sqrt(0.8 * 0.5), rel=1e-6)


def test_greedy_rejects_non_2d_input():
    with pytest.raises(ValueError):
        greedy_decode(np.zeros((2, 3, 4), np.float32), CHARSET)
    with pytest.raises(ValueError):
        greedy_decode(np.zeros(4, np.float32), CHARSET)


# --- beam -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("labels, text", [
    ([A, BLANK, L], "al"),
    ([BLANK, A, A, BLANK, L, BLANK, L, B], "allb"),
    ([B, B, B], "b"),
    ([BLANK, BLANK], ""),
])
def test_beam_agrees_with_greedy_on_peaked_distributions(labels, text):
    probs = peaked(labels, p=0.92)
    assert greedy_decode(probs, CHARSET).text == text
    for width in (1, 3, 8):
        assert beam_decode(probs, CHARSET, beam_width=width).text == text


@pytest.mark.parametrize("labels", [[A, BLANK, L], [B, B, B], [L, BLANK, L, A]])
@pytest.mark.parametrize("width", [1, 3, 8])
def test_beam_char_probs_match_greedy_on_peaked_distributions(labels, width):
    probs = peaked(labels, p=0.92)
    assert beam_decode(probs, CHARSET, beam_width=width).char_probs == pytest.approx(greedy_decode(probs, CHARSET).char_probs)


@pytest.mark.parametrize("labels, width", [([BLANK, A, B], 8), ([BLANK, A, A, BLANK, L, BLANK, L, B], 8)])
def test_beam_char_probs_follow_the_winning_path(labels, width):
    probs = peaked(labels, p=0.92)
    decoded = beam_decode(probs, CHARSET, beam_width=width)
    assert decoded.text == greedy_decode(probs, CHARSET).text
    assert decoded.char_probs == pytest.approx((0.92,) * len(decoded.text))
    assert decoded.confidence == pytest.approx(0.92)


def test_beam_char_probs_are_the_best_frame_of_each_char():
    probs = frames([0.3, 0.6, 0.05, 0.05], [0.05, 0.9, 0.0, 0.05], [0.9, 0.05, 0.0, 0.05], [0.2, 0.05, 0.7, 0.05])
    decoded = beam_decode(probs, CHARSET, beam_width=5)
    assert decoded.text == "ab"
    assert decoded.char_probs == pytest.approx((0.9, 0.7))


def test_beam_finds_the_labelling_that_greedy_misses():
    # Blank is the argmax of each frame, so the best path is empty; but the alignments of "a"
    # ("aa", "a-", "-a") add up to more than the single alignment of "" ("--").
    probs = frames([0.4, 0.35, 0.25, 0.0], [0.4, 0.35, 0.25, 0.0])
    p_empty = 0.4 * 0.4
    p_a = 0.35 * 0.35 + 0.35 * 0.4 + 0.4 * 0.35
    assert p_a > p_empty
    assert greedy_decode(probs, CHARSET).text == ""
    decoded = beam_decode(probs, CHARSET, beam_width=5)
    assert decoded.text == "a"
    assert decoded.char_probs == pytest.approx((0.35,))


def test_beam_prefers_merged_alignments_over_the_best_path_in_a_longer_line():
    # Best path: "b" on frame 1 then blanks -> "b"; but "a" spread over three frames wins overall.
    probs = frames([0.30, 0.28, 0.42, 0.0],
                   [0.45, 0.40, 0.15, 0.0],
                   [0.45, 0.40, 0.15, 0.0])
    assert greedy_decode(probs, CHARSET).text == "b"
    assert beam_decode(probs, CHARSET, beam_width=10).text == "a"


def test_beam_survives_lines_long_enough_to_underflow():
    # 2400 frames: the winning path's probability (0.7 ** 2400 ~ 1e-372) underflows a float64
    # unless the beam renormalises as it goes.
    probs = peaked([A, BLANK, L, BLANK] * 600, p=0.7)
    decoded = beam_decode(probs, CHARSET, beam_width=4)
    assert decoded.text == "al" * 600
    assert len(decoded.char_probs) == 1200
    assert min(decoded.char_probs) == pytest.approx(0.7)


@pytest.mark.parametrize("width", [0, -1])
def test_beam_rejects_a_width_below_one(width):
    with pytest.raises(ValueError):
        beam_decode(peaked([A]), CHARSET, beam_width=width)


def test_beam_rejects_non_2d_input():
    with pytest.raises(ValueError):
        beam_decode(np.zeros((2, 3, 4), np.float32), CHARSET)
    with pytest.raises(ValueError):
        beam_decode(np.zeros(4, np.float32), CHARSET)


# --- lost spaces --------------------------------------------------------------------------------

SPACED = ["a", "b", " "]  # classes: 0 blank, 1 a, 2 b, 3 space
SPACE = 3


def gap_with_space_share(share: float) -> np.ndarray:
    """``a``, two blank frames of which the second gives the space ``share``, then ``b``."""
    probs = peaked([A, BLANK, BLANK, B])
    probs[2] = [1.0 - share - 0.02, 0.01, 0.01, share]
    return probs


def test_a_space_the_blank_outscored_is_put_back_above_the_threshold():
    probs = gap_with_space_share(0.3)
    plain = greedy_decode(probs, SPACED)
    assert plain.text == "ab"
    restored = restore_spaces(plain, probs, SPACE, 0.1)
    assert restored.text == "a b"
    assert restored.char_probs[1] == pytest.approx(0.3)
    assert restored.frames == ((0, 0), (2, 2), (3, 3))   # the space sits on its likeliest gap frame


def test_below_the_threshold_or_switched_off_nothing_changes():
    probs = gap_with_space_share(0.05)
    plain = greedy_decode(probs, SPACED)
    assert restore_spaces(plain, probs, SPACE, 0.1) is plain
    assert restore_spaces(plain, gap_with_space_share(0.3), SPACE, 0.0) is plain


def test_characters_on_touching_frames_and_spaces_already_read_get_no_second_space():
    touching = peaked([A, B])
    touching[:, SPACE] = 0.4  # however strong, there is no gap frame for a space to take
    assert restore_spaces(greedy_decode(touching, SPACED), touching, SPACE, 0.1).text == "ab"
    read = peaked([A, BLANK, SPACE, BLANK, B])
    read[[1, 3], SPACE] = 0.4
    assert restore_spaces(greedy_decode(read, SPACED), read, SPACE, 0.1).text == "a b"
