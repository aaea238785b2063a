"""A small DB-style text detector: depthwise-separable backbone, FPN neck, probability + threshold heads.

Grayscale ``(N, 1, H, W)`` in, H and W multiples of 32, normalised as ``DbDetector`` does with one
channel: ``(pixel / 255 - 0.485) / 0.229``. In training the network returns the probability map,
the threshold map and their differentiable binarization ``sigmoid(k (P - T))`` (Liao et al., 2020);
what ships (``DbForExport``) returns only the probability map, which is all the post-processing uses.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..inputspec import InputSpec

INPUT_MEAN = 0.485
INPUT_STD = 0.229
# What the pack declares for this network; the engine's DbDetector and training both normalise by it.
INPUT_SPEC = InputSpec(channels=1, mean=(INPUT_MEAN,), std=(INPUT_STD,))


@dataclass(frozen=True)
class DbShape:
    stem: int = 16
    stages: tuple[int, ...] = (24, 40, 64, 96)   # strides 4, 8, 16, 32
    blocks: tuple[int, ...] = (1, 2, 2, 2)
    neck: int = 64
    k: float = 50.0                               # binarization steepness

    def __post_init__(self) -> None:
        if len(self.stages) != 4 or len(self.blocks) != 4:
            raise ValueError("stages and blocks need four entries (strides 4, 8, 16, 32)")
        if self.neck % 4:
            raise ValueError("neck must be a multiple of 4")


def _conv_bn(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SeparableBlock(nn.Module):
    """Depthwise 3x3 then pointwise 1x1; a residual when the shape allows (MobileNet-style)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(cin, cin, 3, stride, groups=cin), _conv_bn(cin, cout, 1))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out + x if self.residual else out


def _head(cin: int) -> nn.Sequential:
    """3x3 conv at 1/4 scale, then two 2x transposed convs back to full resolution (DB's head)."""
    mid = cin // 4
    return nn.Sequential(
        _conv_bn(cin, mid, 3),
        nn.ConvTranspose2d(mid, mid, 2, 2, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
        nn.ConvTranspose2d(mid, 1, 2, 2),
    )


class DbNet(nn.Module):
    def __init__(self, shape: DbShape = DbShape()) -> None:
        super().__init__()
        self.shape = shape
        self.stem = _conv_bn(1, shape.stem, 3, 2)
        stages, cin = [], shape.stem
        for cout, count in zip(shape.stages, shape.blocks):
            blocks = [SeparableBlock(cin, cout, 2)] + [SeparableBlock(cout, cout, 1) for _ in range(count - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.lateral = nn.ModuleList(nn.Conv2d(c, shape.neck, 1, bias=False) for c in shape.stages)
        self.smooth = nn.ModuleList(_conv_bn(shape.neck, shape.neck // 4, 3) for _ in shape.stages)
        self.prob_head = _head(shape.neck)
        self.thresh_head = _head(shape.neck)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        pyramid = []
        for stage in self.stages:
            x = stage(x)
            pyramid.append(x)
        laterals = [conv(p) for conv, p in zip(self.lateral, pyramid)]
        for i in range(len(laterals) - 1, 0, -1):  # top-down: coarse context into finer maps
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=laterals[i - 1].shape[-2:], mode="nearest")
        size = laterals[0].shape[-2:]
        outs = [F.interpolate(conv(lat), size=size, mode="nearest") if i else conv(lat)
                for i, (conv, lat) in enumerate(zip(self.smooth, laterals))]
        return torch.cat(outs, dim=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        fused = self.features(x)
        prob_logits = self.prob_head(fused)
        out = {"prob_logits": prob_logits, "prob": torch.sigmoid(prob_logits)}
        if self.training:
            thresh = torch.sigmoid(self.thresh_head(fused))
            out["thresh"] = thresh
            out["binary"] = torch.sigmoid(self.shape.k * (out["prob"] - thresh))
        return out


class DbForExport(nn.Module):
    """What ships: the probability map only; the threshold branch is a training aid."""

    def __init__(self, net: DbNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net.prob_head(self.net.features(images)))


def db_loss(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], alpha: float = 1.0,
            beta: float = 10.0, negative_ratio: float = 3.0) -> tuple[torch.Tensor, dict[str, float]]:
    """DB loss: hard-negative-mined BCE on P, dice on the binary map, masked L1 on T."""
    gt, mask = batch["prob"], batch["prob_mask"]
    bce = F.binary_cross_entropy_with_logits(out["prob_logits"].float(), gt, reduction="none")
    positive = (gt * mask).bool()
    negative = ((1 - gt) * mask).bool()
    n_pos = int(positive.sum())
    n_neg = min(int(negative.sum()), int(max(n_pos, 1) * negative_ratio))
    hard = torch.topk(bce[negative], n_neg).values if n_neg else bce.new_zeros(0)
    prob_loss = (bce[positive].sum() + hard.sum()) / (n_pos + n_neg + 1e-6)
    binary = out["binary"].float()
    inter = (binary * gt * mask).sum()
    dice = 1 - 2 * inter / ((binary * mask).sum() + (gt * mask).sum() + 1e-6)
    tmask = batch["thresh_mask"]
    l1 = ((out["thresh"].float() - batch["thresh"]).abs() * tmask).sum() / (tmask.sum() + 1e-6)
    total = prob_loss + alpha * dice + beta * l1
    return total, {"prob": prob_loss.item(), "dice": dice.item(), "thresh": l1.item()}
