"""The CRNN recognizer: convolutional backbone, 2-layer BiLSTM, linear CTC head.

Input is grayscale ``(N, 1, H, W)`` normalised to [-1, 1]; the backbone divides the width by 4,
so a line ``W`` pixels wide gives ``W // 4`` CTC time steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class CrnnShape:
    height: int = 32
    channels: tuple[int, ...] = (32, 64, 96, 96, 128, 128)
    hidden: int = 128
    # With thousands of classes the output layer dominates size and time: 2*hidden -> bottleneck
    # -> classes costs far less than 2*hidden -> classes. 0 keeps the single linear layer.
    bottleneck: int = 0

    def __post_init__(self) -> None:
        if self.height not in (32, 48):
            raise ValueError("height must be 32 or 48")
        if len(self.channels) != 6:
            raise ValueError("channels needs six entries")


def _conv(cin: int, cout: int, kernel: tuple[int, int] = (3, 3), padding: tuple[int, int] = (1, 1)) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Crnn(nn.Module):
    def __init__(self, num_classes: int, shape: CrnnShape = CrnnShape()) -> None:
        super().__init__()
        c1, c2, c3, c4, c5, c6 = shape.channels
        # Height after pooling: H/2 -> H/4 -> H/8 -> H/16; a final conv collapses what is left.
        remaining = shape.height // 16
        self.backbone = nn.Sequential(
            _conv(1, c1), nn.MaxPool2d(2, 2),
            _conv(c1, c2), nn.MaxPool2d(2, 2),
            _conv(c2, c3), _conv(c3, c4), nn.MaxPool2d((2, 1), (2, 1)),
            _conv(c4, c5), _conv(c5, c6), nn.MaxPool2d((2, 1), (2, 1)),
            _conv(c6, c6, kernel=(remaining, 1), padding=(0, 0)),
        )
        self.rnn = nn.LSTM(c6, shape.hidden, num_layers=2, bidirectional=True, batch_first=True)
        if shape.bottleneck:
            self.head = nn.Sequential(nn.Linear(2 * shape.hidden, shape.bottleneck), nn.Linear(shape.bottleneck, num_classes))
        else:
            self.head = nn.Linear(2 * shape.hidden, num_classes)
        self.shape = shape
        self.num_classes = num_classes

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return logits ``(N, T, C)``."""
        features = self.backbone(images).squeeze(2)  # (N, C, T)
        sequence, _ = self.rnn(features.permute(0, 2, 1))
        return self.head(sequence)


class CrnnForExport(nn.Module):
    """What ships: probabilities, so the engine gets per-character confidences for free."""

    def __init__(self, crnn: Crnn) -> None:
        super().__init__()
        self.crnn = crnn

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.crnn(images), dim=-1)
