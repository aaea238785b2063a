"""Line recognition: crops to a padded batch, the CRNN through ONNX Runtime, CTC decoding.

Crops are sorted by width and batched, and each batch is padded to a width bucket (a multiple of
``BUCKET``) so that ONNX Runtime sees few distinct shapes. Each line is decoded only over its own
time steps, so padding never adds characters.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .ctc import DecodedText, beam_decode, greedy_decode

BUCKET = 32
MIN_WIDTH = 16


@dataclass(frozen=True)
class RecognizerSettings:
    height: int
    max_width: int
    width_stride: int = 4
    blank_index: int = 0


def resize_to_height(crop: np.ndarray, settings: RecognizerSettings) -> np.ndarray:
    """Scale a grayscale crop to the recognizer's height, keeping aspect, capping the width."""
    h, w = crop.shape[:2]
    width = int(round(w * settings.height / max(h, 1)))
    width = int(np.clip(width, MIN_WIDTH, settings.max_width))
    interpolation = cv2.INTER_AREA if h > settings.height else cv2.INTER_LINEAR
    return cv2.resize(crop, (width, settings.height), interpolation=interpolation)


def make_batches(lines: list[np.ndarray], batch_size: int) -> list[list[int]]:
    """Indices grouped so that lines of similar width share a batch."""
    order = sorted(range(len(lines)), key=lambda i: lines[i].shape[1])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(lines: list[np.ndarray]) -> np.ndarray:
    """Stack lines into ``(N, 1, H, W)`` float32 in [-1, 1], right-padded by repeating the edge."""
    widest = max(line.shape[1] for line in lines)
    width = -(-widest // BUCKET) * BUCKET
    batch = np.stack([np.pad(line, ((0, 0), (0, width - line.shape[1])), mode="edge") for line in lines])
    return (batch.astype(np.float32) / 127.5 - 1.0)[:, None]


class Recognizer:
    def __init__(self, session, charset: list[str], settings: RecognizerSettings) -> None:
        self.session = session
        self.charset = charset
        self.settings = settings
        self.input_name = session.get_inputs()[0].name
        classes = session.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes != len(charset) + 1:
            raise ValueError(f"recognizer has {classes} classes but the charset has {len(charset)} (+1 blank)")

    def probabilities(self, lines: list[np.ndarray], batch_size: int) -> list[np.ndarray]:
        """Per-line ``(T_i, C)`` probabilities for lines already at the recognizer's height."""
        out: list[np.ndarray | None] = [None] * len(lines)
        stride = self.settings.width_stride
        for indices in make_batches(lines, batch_size):
            batch = pad_batch([lines[i] for i in indices])
            probs = self.session.run(None, {self.input_name: batch})[0]
            for row, index in enumerate(indices):
                steps = min(probs.shape[1], -(-lines[index].shape[1] // stride))
                out[index] = probs[row, :steps]
        return [p for p in out if p is not None]

    def decode(self, probs: np.ndarray, beam_width: int = 0) -> DecodedText:
        if beam_width > 1:
            return beam_decode(probs, self.charset, beam_width, self.settings.blank_index)
        return greedy_decode(probs, self.charset, self.settings.blank_index)

    def recognize(self, crops: list[np.ndarray], batch_size: int = 16, beam_width: int = 0) -> list[DecodedText]:
        lines = [resize_to_height(crop, self.settings) for crop in crops]
        return [self.decode(p, beam_width) for p in self.probabilities(lines, batch_size)]
