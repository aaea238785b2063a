"""The en-latin-v2 training set: receipt-style lines rendered by ``scan.render_scan_line``.

A sample is a pure function of ``(seed, index)``, as in ``dataset.RenderedLines``. One line in ten
is Chinese or mixed, drawn in a CJK training face and labelled ``FOREIGN_MARK`` for every character
outside the Latin charset, so the model marks what it cannot read rather than guessing.
"""
from __future__ import annotations

import random
from functools import lru_cache

import numpy as np
import torch

from ..inputspec import to_batch
from ..packs import family_input
from .charset import latin_charset, zh_en_charset
from .corpus import sample_english_line
from .corpus_zh import sample_zh_en_line
from .dataset import RenderedLines
from .fonts import cjk_training_fonts, latin_training_fonts
from .render import font_covers
from .scan import FOREIGN_MARK, render_scan_line

FOREIGN_SHARE = 0.1


def scan_charset() -> list[str]:
    """The Latin charset plus the mark for "another script here"."""
    return latin_charset() + [FOREIGN_MARK]


@lru_cache(maxsize=1)
def _zh_charset() -> tuple[str, ...]:
    return tuple(zh_en_charset())


def scan_training_fonts() -> list:
    """The Latin training fonts, then whatever CJK training faces are installed (none is fine)."""
    fonts: list = list(latin_training_fonts())
    try:
        fonts += cjk_training_fonts()
    except FileNotFoundError:
        pass
    return fonts


def sample_scan_text(rng: random.Random, charset: list[str]) -> str:
    """A receipt-style Latin line; one in ten has hanzi (kept as hanzi: the dataset marks them)."""
    if rng.random() < FOREIGN_SHARE:
        for _ in range(4):
            line = sample_zh_en_line(rng, list(_zh_charset()))
            if any(ch not in charset for ch in line):
                return line
    line = sample_english_line(rng, [ch for ch in charset if ch != FOREIGN_MARK])
    if rng.random() < 0.3:  # receipts print most lines in capitals
        line = line.upper()
    return line


def to_label_text(text: str, charset: list[str]) -> str:
    """What the model should read: each character outside the charset becomes ``FOREIGN_MARK``."""
    allowed = set(charset)
    return "".join(ch if ch in allowed else FOREIGN_MARK for ch in text)


class ScanLines(RenderedLines):
    """``RenderedLines`` drawn by ``render_scan_line``, with neighbour lines and foreign-script lines."""

    def __init__(self, seed: int, size: int, charset: list[str], fonts: list, sample_text=sample_scan_text,
                 height: int = 32, max_width: int = 512, clean_share: float = 0.15) -> None:
        super().__init__(seed, size, charset, fonts, sample_text, height, max_width, clean_share)
        if FOREIGN_MARK not in self.class_of:
            raise ValueError("ScanLines needs a charset with FOREIGN_MARK (scan_charset())")
        # train() refuses the reserved evaluation fonts before any dataset is made.
        self.latin_fonts = [f for f in fonts if font_covers(f, "Aa0") and not font_covers(f, "的")]
        self.cjk_fonts = [f for f in fonts if font_covers(f, "的")]
        if not self.latin_fonts:
            raise ValueError("no Latin font among the training fonts")

    def _font_for(self, text: str, rng: random.Random):
        latin_only = all(ch in self.class_of for ch in text)
        pool = self.latin_fonts if latin_only or not self.cjk_fonts else self.cjk_fonts
        covering = [f for f in pool if font_covers(f, text)]
        return rng.choice(covering or pool)

    def sample(self, index: int) -> tuple[np.ndarray, str]:
        """(image, what the model should read: other scripts as ``FOREIGN_MARK``)."""
        image, text = self.render(index)
        return image, to_label_text(text, self.charset)

    def render(self, index: int) -> tuple[np.ndarray, str]:
        """(image, the text drawn on it)."""
        rng = random.Random(f"scan:{self.seed}:{index}")
        text = self.sample_text(rng, self.charset)
        font = self._font_for(text, rng)
        if not font_covers(font, text):  # no face draws all of it: keep what this one can draw
            text = "".join(ch for ch in text if font_covers(font, ch)).strip() or "0"
        neighbours = tuple(self.sample_text(rng, self.charset) for _ in range(2))
        neighbours = tuple(n if font_covers(font, n) else None for n in neighbours)
        strength = 0.0 if rng.random() < self.clean_share else rng.uniform(0.3, 1.0)
        image = render_scan_line(text, font, rng, self.height, strength, neighbours)
        while image.shape[1] > self.max_width and len(text) > 1:
            text = text[: len(text) * 3 // 4].strip() or text[0]
            image = render_scan_line(text, font, rng, self.height, strength, neighbours)
        return image, text

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, label_text = self.sample(index)
        tensor = torch.from_numpy(to_batch([image], family_input("crnn-ctc", height=image.shape[0], width_multiple=1))[0])
        return tensor, torch.tensor([self.class_of[ch] for ch in label_text], dtype=torch.long)


def render_scan_samples(count: int, seed: int, height: int = 32) -> list[tuple[np.ndarray, str]]:
    """``count`` (image, drawn text) pairs of held-out receipt-scan lines in the training fonts."""
    data = ScanLines(seed, count, scan_charset(), scan_training_fonts(), height=height, max_width=2048)
    return [data.render(i) for i in range(count)]
