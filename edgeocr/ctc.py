"""CTC decoding of recognizer output: greedy best path and prefix beam search.

Both take per-frame class probabilities ``(T, C)`` (class ``blank`` is the CTC blank) and return
the text with one probability per emitted character.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DecodedText:
    text: str
    char_probs: tuple[float, ...]
    # (first, last) output frame of each character, where the decoder knows them (greedy does).
    frames: tuple[tuple[int, int], ...] = ()
    # Which recognizer (its pack's name) produced it, where one page is read by more than one.
    reader: str = ""

    @property
    def confidence(self) -> float:
        """Geometric mean of the character probabilities; 0 for an empty line.

        The geometric mean punishes one doubtful character without letting a single one decide
        the whole line the way a minimum would.
        """
        if not self.char_probs:
            return 0.0
        logs = [math.log(max(p, 1e-12)) for p in self.char_probs]
        return float(math.exp(sum(logs) / len(logs)))


def greedy_decode(probs: np.ndarray, charset: list[str], blank: int = 0) -> DecodedText:
    """Best path: argmax per frame, merge repeats, drop blanks."""
    if probs.ndim != 2:
        raise ValueError(f"expected (T, C) probabilities, got shape {probs.shape}")
    best = probs.argmax(axis=1)
    best_p = probs[np.arange(len(best)), best]
    chars: list[str] = []
    char_probs: list[float] = []
    frames: list[list[int]] = []
    previous = blank
    for t, (cls, p) in enumerate(zip(best.tolist(), best_p.tolist())):
        if cls != blank:
            if cls != previous:
                chars.append(_char(charset, cls, blank))
                char_probs.append(p)
                frames.append([t, t])
            else:  # the same character spread over frames: keep its best frame
                char_probs[-1] = max(char_probs[-1], p)
                frames[-1][1] = t
        previous = cls
    return DecodedText("".join(chars), tuple(char_probs), tuple((a, b) for a, b in frames))


def restore_spaces(decoded: DecodedText, probs: np.ndarray, space_class: int, threshold: float) -> DecodedText:
    """Put back word spaces that best path lost to the blank.

    Where two characters meet with only blanks between them, the space class often still takes a
    real share of the frames in the gap (on SROIE-dev crops, a missed space's gap peaks at a median
    0.16, a true no-space gap under 0.0002 at the 95th percentile). A space goes in wherever that
    share reaches ``threshold``, with that share as its probability and the gap's likeliest frame
    as its frame.
    """
    if threshold <= 0 or len(decoded.frames) != len(decoded.text) or len(decoded.text) < 2:
        return decoded
    chars, char_probs, frames = [decoded.text[0]], [decoded.char_probs[0]], [decoded.frames[0]]
    for k in range(1, len(decoded.text)):
        previous, current = decoded.text[k - 1], decoded.text[k]
        lo, hi = decoded.frames[k - 1][1] + 1, decoded.frames[k][0]
        if hi > lo and not previous.isspace() and not current.isspace():
            gap = probs[lo:hi, space_class]
            at = int(gap.argmax())
            if gap[at] >= threshold:
                chars.append(" ")
                char_probs.append(float(gap[at]))
                frames.append((lo + at, lo + at))
        chars.append(current)
        char_probs.append(decoded.char_probs[k])
        frames.append(decoded.frames[k])
    if len(chars) == len(decoded.text):
        return decoded
    return DecodedText("".join(chars), tuple(char_probs), tuple(frames), decoded.reader)


def _char(charset: list[str], cls: int, blank: int) -> str:
    index = cls - 1 if cls > blank else cls
    return charset[index]


def beam_decode(probs: np.ndarray, charset: list[str], beam_width: int = 5, blank: int = 0, prune: float = 1e-4) -> DecodedText:
    """CTC prefix beam search (no language model).

    Character probabilities are those of the frame where each character was best supported along
    the winning prefix, so they are comparable with greedy decoding.
    """
    if probs.ndim != 2:
        raise ValueError(f"expected (T, C) probabilities, got shape {probs.shape}")
    if beam_width < 1:
        raise ValueError("beam_width must be at least 1")
    # prefix -> (p_blank, p_nonblank); probs of chars along the prefix kept alongside.
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}
    char_probs: dict[tuple[int, ...], tuple[float, ...]] = {(): ()}
    for frame in probs:
        candidates = np.flatnonzero(frame >= prune)
        next_beams: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
        next_char_probs: dict[tuple[int, ...], tuple[float, ...]] = {}
        strongest: dict[tuple[int, ...], float] = {}

        def offer(prefix: tuple[int, ...], mass: float, chars: tuple[float, ...]) -> None:
            # Many paths reach one prefix: its character probabilities follow the likeliest.
            if mass > strongest.get(prefix, -1.0):
                strongest[prefix] = mass
                next_char_probs[prefix] = chars

        for prefix, (pb, pnb) in beams.items():
            total = pb + pnb
            for cls in candidates.tolist():
                p = float(frame[cls])
                if cls == blank:
                    next_beams[prefix][0] += total * p
                    offer(prefix, total * p, char_probs[prefix])
                    continue
                extended = prefix + (cls,)
                if prefix and cls == prefix[-1]:
                    # A repeat extends only from a blank-terminated path; otherwise it merges.
                    next_beams[extended][1] += pb * p
                    offer(extended, pb * p, char_probs[prefix] + (p,))
                    next_beams[prefix][1] += pnb * p
                    merged = char_probs[prefix]
                    offer(prefix, pnb * p, merged[:-1] + (max(merged[-1], p),))
                else:
                    next_beams[extended][1] += total * p
                    offer(extended, total * p, char_probs[prefix] + (p,))
        ranked = sorted(next_beams.items(), key=lambda item: item[1][0] + item[1][1], reverse=True)[:beam_width]
        total_mass = sum(b + nb for _, (b, nb) in ranked) or 1.0
        # Renormalise so long lines do not underflow.
        beams = {prefix: (b / total_mass, nb / total_mass) for prefix, (b, nb) in ranked}
        char_probs = {prefix: next_char_probs.get(prefix, ()) for prefix in beams}
    best_prefix = max(beams, key=lambda prefix: sum(beams[prefix]))
    text = "".join(_char(charset, cls, blank) for cls in best_prefix)
    probs_out = char_probs[best_prefix]
    return DecodedText(text, tuple(float(p) for p in probs_out))
