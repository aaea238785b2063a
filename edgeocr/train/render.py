"""Render one text line as a degraded grayscale crop, the way a detector would cut it from a scan.

``render_line`` is a pure function of its arguments and the ``random.Random`` it is given, so a
training sample is reproducible from ``(seed, index)`` whatever process renders it.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import FontFace


@dataclass(frozen=True)
class Degradation:
    """How hard to degrade a rendered line; 0 gives clean black-on-white text."""

    strength: float = 1.0


@lru_cache(maxsize=256)
def load_font(path: str, size: int, index: int = 0) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


def font_source(font: Path | FontFace) -> tuple[str, int]:
    """(file, face index) of a plain font path or one face of a ``.ttc`` collection."""
    if isinstance(font, FontFace):
        return str(font.path), font.index
    return str(font), 0


def _glyph_signature(path: str, index: int, ch: str) -> tuple:
    mask = load_font(path, 24, index).getmask(ch)
    return mask.size, bytes(mask)


@lru_cache(maxsize=None)
def has_glyph(path: str, index: int, ch: str) -> bool:
    """True when the face draws ``ch`` itself rather than its missing-glyph box (or nothing).

    Compares the whole bitmap with the one drawn for a noncharacter, so a real glyph that merely
    has the box's size (口, 0, I...) is not mistaken for a missing one. Cached: a CJK charset asks
    about thousands of characters per face, each once.
    """
    if ch == " ":
        return True
    mask = load_font(path, 24, index).getmask(ch)
    if mask.getbbox() is None:
        return False
    return _glyph_signature(path, index, ch) != _glyph_signature(path, index, "\uffff")


def font_covers(font: Path | FontFace, text: str) -> bool:
    """True when the font has a glyph for every character (missing glyphs render as boxes)."""
    path, index = font_source(font)
    return all(has_glyph(path, index, ch) for ch in set(text))


def _draw_text(text: str, font: ImageFont.FreeTypeFont, spacing: int, fg: int, bg: int) -> Image.Image:
    left, top, right, bottom = font.getbbox(text)
    ascent, descent = font.getmetrics()
    width = right + max(spacing, 0) * len(text) + 8
    height = ascent + descent + 8
    canvas = Image.new("L", (max(width, 8), max(height, 8)), color=bg)
    draw = ImageDraw.Draw(canvas)
    if spacing == 0:
        draw.text((4, 4), text, font=font, fill=fg)
    else:
        x = 4.0
        for ch in text:
            draw.text((x, 4), ch, font=font, fill=fg)
            x += font.getlength(ch) + spacing
    return canvas


def _ink_bounds(gray: np.ndarray, bg: int) -> tuple[int, int, int, int] | None:
    ink = np.abs(gray.astype(np.int16) - bg) > 40
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _background(shape: tuple[int, int], bg: int, rng: random.Random, strength: float) -> np.ndarray:
    h, w = shape
    base = np.full((h, w), float(bg), dtype=np.float32)
    if rng.random() < 0.5 * strength:  # uneven light: a linear gradient across the line
        ramp = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
        base += ramp * rng.uniform(-30, 30)
    if rng.random() < 0.4 * strength:  # paper texture: smoothed noise
        grain = np.random.default_rng(rng.randrange(2**32)).normal(0, 1, (h, w)).astype(np.float32)
        base += cv2.GaussianBlur(grain, (0, 0), rng.uniform(0.8, 3.0)) * rng.uniform(5, 20)
    return base


def render_line(
    text: str,
    font_path: Path | FontFace,
    rng: random.Random,
    height: int = 32,
    degradation: Degradation = Degradation(),
) -> np.ndarray:
    """Render ``text`` and return a uint8 grayscale crop ``height`` pixels high, any width."""
    s = degradation.strength
    size = rng.randint(22, 44)
    path, index = font_source(font_path)
    font = load_font(path, size, index)
    dark, light = rng.randint(0, 90), rng.randint(170, 255)
    inverted = rng.random() < 0.1 * s
    fg, bg = (light, dark) if inverted else (dark, light)
    spacing = rng.choice([0, 0, 0, 1, 2, 3]) if rng.random() < 0.3 * s else 0
    layer = np.asarray(_draw_text(text, font, spacing, 255, 0), dtype=np.float32) / 255.0

    if rng.random() < 0.2 * s:  # stroke weight: thicker (thermal/bold) or thinner (faded) strokes
        kernel = np.ones((2, 2), np.uint8)
        op = cv2.dilate if rng.random() < 0.5 else cv2.erode
        thinned = op(layer, kernel)
        if thinned.max() > 0.5:
            layer = thinned
    if rng.random() < 0.08 * s:  # dot-matrix look: knock out a regular grid of pixels
        step = rng.choice([2, 3])
        mask = np.ones_like(layer)
        mask[::step, :] *= 0.3
        mask[:, ::step] *= 0.3
        layer = layer * mask

    h, w = layer.shape
    image = _background((h, w), bg, rng, s)
    ink_level = fg - bg
    if rng.random() < 0.3 * s:  # faded thermal print: ink varies along the line
        ink_level = ink_level * np.linspace(rng.uniform(0.5, 1.0), rng.uniform(0.5, 1.0), w, dtype=np.float32)[None, :]
    image = image + layer * ink_level

    bounds = _ink_bounds((layer * 255).astype(np.uint8), 0)
    if bounds is None:
        bounds = (0, 0, w, h)
    x0, y0, x1, y1 = bounds
    text_h = max(y1 - y0, 1)

    if rng.random() < 0.15 * s:  # table rule under or through the text
        y = rng.choice([y1 + rng.randint(1, 4), (y0 + y1) // 2, y0 - rng.randint(1, 4)])
        y = int(np.clip(y, 0, h - 1))
        cv2.line(image, (0, y), (w - 1, y), float(fg), rng.choice([1, 1, 2]))

    # Crop as a detector would: loose or tight vertical margin, some horizontal slack.
    mt, mb = (int(text_h * rng.uniform(0.0, 0.35)) for _ in range(2))
    ml, mr = (int(text_h * rng.uniform(0.0, 0.6)) for _ in range(2))
    pad = max(mt, mb, ml, mr) + 2
    image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = image[y0 + pad - mt : y1 + pad + mb, x0 + pad - ml : x1 + pad + mr]

    if rng.random() < 0.4 * s:  # small rotation / shear as from a slightly skewed scan
        ch, cw = crop.shape
        angle = rng.uniform(-2.0, 2.0)
        shear = rng.uniform(-0.15, 0.15) if rng.random() < 0.3 else 0.0
        m = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle, 1.0)
        m[0, 1] += shear
        crop = cv2.warpAffine(crop, m, (cw, ch), borderMode=cv2.BORDER_REPLICATE)

    ch, cw = crop.shape
    out_w = max(int(round(cw * height / ch)), 4)
    if rng.random() < 0.3 * s:  # low resolution: shrink, then back up
        factor = rng.uniform(0.35, 0.8)
        small = cv2.resize(crop, (max(int(out_w * factor), 4), max(int(height * factor), 4)), interpolation=cv2.INTER_AREA)
        crop = cv2.resize(small, (out_w, height), interpolation=cv2.INTER_LINEAR)
    else:
        crop = cv2.resize(crop, (out_w, height), interpolation=cv2.INTER_AREA)

    return blur_noise_jpeg(crop, rng, s)


def blur_noise_jpeg(crop: np.ndarray, rng: random.Random, s: float, blur_max: float = 1.1, noise_max: float = 14.0,
                    jpeg_share: float = 0.3, jpeg_worst: int = 25) -> np.ndarray:
    """A crop's last degradations, each with a chance scaled by ``s``: blur, noise, JPEG; uint8 out."""
    if rng.random() < 0.3 * s:
        crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.3, blur_max))
    if rng.random() < 0.4 * s:
        noise = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(2, noise_max), crop.shape)
        crop = crop + noise.astype(np.float32)
    crop = np.clip(crop, 0, 255).astype(np.uint8)
    if rng.random() < jpeg_share * s:
        ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(jpeg_worst, 85)])
        if ok:
            crop = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return crop
