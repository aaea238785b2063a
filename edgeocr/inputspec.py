"""What a model wants as input, as data from its pack, and the one function that makes it.

Every network in a pack (recognizer, detector, line classifier) declares its input convention in
``pack.yaml``: channels and colour order, a fixed height (line models), how wide lines may be and how a
batch is padded, and the mean and std of its normalisation. (A detector's page resize policy is
one of its DB settings.) ``to_batch`` turns
already resized images into the tensor that convention describes; the engine, the benchmarks
and the training code all use it, so a model never sees a tensor made by a different rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Sequence

import cv2
import numpy as np

from .errors import ModelPackError


@dataclass(frozen=True)
class InputSpec:
    channels: int = 1                         # 1: grayscale, 3: colour
    color_order: str = "bgr"                  # channel order of a 3-channel input: bgr or rgb
    height: int | None = None                 # fixed input height (line models); None: free (pages)
    min_width: int = 16                       # narrower lines are stretched to this
    max_width: int = 2048                     # wider lines are squeezed to this
    width_multiple: int = 32                  # a batch is padded to a multiple of this width
    pad: str = "edge"                         # edge: repeat the last column; zero: 0 after normalising
    mean: tuple[float, ...] = (0.5,)          # of x / 255, per channel
    std: tuple[float, ...] = (0.5,)

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if self.color_order not in ("bgr", "rgb"):
            raise ValueError(f"color_order must be bgr or rgb, got {self.color_order!r}")
        if self.pad not in ("edge", "zero"):
            raise ValueError(f"pad must be edge or zero, got {self.pad!r}")
        if len(self.mean) not in (1, self.channels) or len(self.std) not in (1, self.channels):
            raise ValueError(f"mean and std need 1 or {self.channels} values")
        if any(s <= 0 for s in self.std):
            raise ValueError("std values must be positive")
        if self.height is not None and self.height < 8:
            raise ValueError(f"height must be at least 8, got {self.height}")
        if not 1 <= self.min_width <= self.max_width:
            raise ValueError(f"need 1 <= min_width <= max_width, got {self.min_width}, {self.max_width}")
        if self.width_multiple < 1:
            raise ValueError("width_multiple must be positive")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, where: str) -> "InputSpec":
        """From a pack's ``input:`` mapping; unknown keys and bad values name ``where``."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ModelPackError(f"{where}: unknown input setting(s) {', '.join(sorted(unknown))}")
        for key in ("mean", "std"):
            if key in data:
                value = data[key]
                data[key] = tuple(float(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise ModelPackError(f"{where}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (list(getattr(self, f.name)) if f.name in ("mean", "std") else getattr(self, f.name))
                for f in fields(self)}


def to_channels(image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """An 8-bit BGR or grayscale image in the spec's channels: ``(H, W)`` or ``(H, W, 3)``."""
    if spec.channels == 1:
        return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    colour = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    return cv2.cvtColor(colour, cv2.COLOR_BGR2RGB) if spec.color_order == "rgb" else colour


def line_width(height: int, width: int, spec: InputSpec) -> int:
    """The width a ``height × width`` line crop gets at the spec's height, aspect kept and capped."""
    assert spec.height is not None
    scaled = int(round(width * spec.height / max(height, 1)))
    return int(np.clip(scaled, spec.min_width, spec.max_width))


def resize_line(crop: np.ndarray, spec: InputSpec, width: int | None = None) -> np.ndarray:
    """Scale a line crop to the spec's height (and ``width``, or its own aspect), in its channels."""
    assert spec.height is not None, "resize_line needs a spec with a fixed height"
    pixels = to_channels(crop, spec)
    h, w = pixels.shape[:2]
    target = width if width is not None else line_width(h, w, spec)
    interpolation = cv2.INTER_AREA if h > spec.height else cv2.INTER_LINEAR
    return cv2.resize(pixels, (target, spec.height), interpolation=interpolation)


def to_batch(images: Sequence[np.ndarray], spec: InputSpec) -> np.ndarray:
    """Stack same-height images (already in the spec's channels) into normalised ``(N, C, H, W)``.

    The batch is right-padded to the widest image rounded up to ``width_multiple``, by repeating
    the last column (``edge``) or with zeros after normalisation (``zero``, what PP-OCR's own
    training pads with).
    """
    if not images:
        raise ValueError("to_batch needs at least one image")
    height = images[0].shape[0]
    if any(image.shape[0] != height for image in images):
        raise ValueError("to_batch: all images must have the same height")
    widest = max(image.shape[1] for image in images)
    width = -(-widest // spec.width_multiple) * spec.width_multiple
    batch = np.zeros((len(images), spec.channels, height, width), dtype=np.float32)
    mean = np.asarray(spec.mean, dtype=np.float32).reshape(-1, 1, 1)
    inv_std = 1.0 / np.asarray(spec.std, dtype=np.float32).reshape(-1, 1, 1)
    for row, image in enumerate(images):
        planes = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
        if planes.shape[0] != spec.channels:
            raise ValueError(f"to_batch: image has {planes.shape[0]} channels, the spec {spec.channels}")
        w = planes.shape[2]
        if spec.pad == "edge" and w < width:
            planes = np.concatenate([planes, np.repeat(planes[:, :, -1:], width - w, axis=2)], axis=2)
            w = width
        batch[row, :, :, :w] = (planes.astype(np.float32) * (1.0 / 255.0) - mean) * inv_std
    return batch
