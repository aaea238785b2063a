"""Rendered training lines as a torch dataset: sample ``i`` is a pure function of ``(seed, i)``."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from ..inputspec import to_batch
from ..packs import family_input
from .render import Degradation, font_covers, render_line

TextSampler = Callable[[random.Random, list], str]


class RenderedLines(Dataset):
    def __init__(
        self,
        seed: int,
        size: int,
        charset: list[str],
        fonts: list[Path],
        sample_text: TextSampler,
        height: int = 32,
        max_width: int = 512,
        clean_share: float = 0.25,
    ) -> None:
        if not fonts:
            raise ValueError("no fonts to render with")
        self.seed, self.size, self.charset, self.fonts = seed, size, charset, fonts
        self.sample_text, self.height, self.max_width, self.clean_share = sample_text, height, max_width, clean_share
        self.class_of = {ch: i + 1 for i, ch in enumerate(charset)}

    def __len__(self) -> int:
        return self.size

    def sample(self, index: int) -> tuple[np.ndarray, str]:
        rng = random.Random(f"{self.seed}:{index}")
        text = self.sample_text(rng, self.charset)
        font = rng.choice(self.fonts)
        for _ in range(4):  # a font without the glyphs would teach the model boxes
            if font_covers(font, text):
                break
            font = rng.choice(self.fonts)
        else:
            text, font = self._drawable(text, rng)
        strength = 0.0 if rng.random() < self.clean_share else rng.uniform(0.3, 1.0)
        image = render_line(text, font, rng, self.height, Degradation(strength))
        while image.shape[1] > self.max_width and len(text) > 1:
            # Too wide for a training batch: drop words from the end and render again.
            text = text[: len(text) * 3 // 4].strip() or text[0]
            image = render_line(text, font, rng, self.height, Degradation(strength))
        return image, text

    def _drawable(self, text: str, rng: random.Random) -> tuple[str, object]:
        """A font that draws ``text``; failing any, the characters the chosen font can draw.

        Hanzi lines drawn at random often land on a Latin-only font (and Droid Sans Fallback has
        no Latin at all), so pick among the fonts that cover the line rather than retry blindly.
        """
        covering = [f for f in self.fonts if font_covers(f, text)]
        if covering:
            return text, rng.choice(covering)
        font = rng.choice(self.fonts)
        kept = "".join(ch for ch in text if font_covers(font, ch)).strip()
        return (kept or "0"), font

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, text = self.sample(index)
        tensor = torch.from_numpy(to_batch([image], family_input("crnn-ctc", height=image.shape[0], width_multiple=1))[0])
        label = torch.tensor([self.class_of[ch] for ch in text], dtype=torch.long)
        return tensor, label


def collate_lines(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad to the widest line by repeating each line's right edge, as the engine does."""
    width = max(image.shape[-1] for image, _ in batch)
    width = (width + 3) // 4 * 4
    images = torch.stack([
        torch.nn.functional.pad(image, (0, width - image.shape[-1]), mode="replicate") for image, _ in batch
    ])
    labels = torch.cat([label for _, label in batch])
    label_lengths = torch.tensor([len(label) for _, label in batch], dtype=torch.long)
    input_lengths = torch.full((len(batch),), width // 4, dtype=torch.long)
    return images, labels, input_lengths, label_lengths
