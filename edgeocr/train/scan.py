"""Lines rendered the way real receipt scans look, for the second Latin pack (en-latin-v2).

en-latin-v1 reads clean renders well (0.2 % CER) and real scan crops badly (19 % on SROIE-dev
crops): the crops it has never seen carry a sliver of the lines above and below, are condensed or
dot-matrix type, faded thermal print, 10-15 px high, skewed by a few degrees, grey-backed or
darkened at a scanner edge. ``render_scan_line`` adds those, on top of what ``render.py`` does.
It is a pure function of its arguments and the ``random.Random`` it is given, like ``render_line``.

Lines in another script (hanzi) are drawn too and labelled with ``FOREIGN_MARK`` per character,
so the model learns to say "not my script" instead of reading Chinese as confident Latin garbage;
the fast path (``edgeocr/cascade.py``) sends any line holding the mark to the accurate recognizer.
"""
from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np

from ..cascade import FOREIGN_MARK
from .fonts import FontFace
from .render import _background, _draw_text, _ink_bounds, blur_noise_jpeg, font_source, load_font

__all__ = ["FOREIGN_MARK", "render_scan_line"]


def _text_layer(text: str, font_path: Path | FontFace, size: int, spacing: int, x_scale: float) -> np.ndarray:
    path, index = font_source(font_path)
    layer = np.asarray(_draw_text(text, load_font(path, size, index), spacing, 255, 0), dtype=np.float32) / 255.0
    if x_scale != 1.0:  # condensed or extended type, common on receipt printers
        layer = cv2.resize(layer, (max(int(layer.shape[1] * x_scale), 8), layer.shape[0]), interpolation=cv2.INTER_AREA)
    return layer


def _dot_matrix(layer: np.ndarray, rng: random.Random) -> np.ndarray:
    """Redraw the ink as round dots on a coarse grid, as an impact or low-dpi thermal head prints."""
    cell = rng.choice([2, 3, 3, 4])
    h, w = layer.shape
    grid = cv2.resize(layer, (max(w // cell, 1), max(h // cell, 1)), interpolation=cv2.INTER_AREA) > rng.uniform(0.3, 0.5)
    yy, xx = np.mgrid[:cell, :cell] + 0.5
    radius = cell * rng.uniform(0.35, 0.55)
    disk = (((yy - cell / 2) ** 2 + (xx - cell / 2) ** 2) <= radius ** 2).astype(np.float32)
    dots = np.kron(grid.astype(np.float32), disk)
    out = np.zeros_like(layer)
    out[: dots.shape[0], : dots.shape[1]] = dots[:h, :w]
    return out if out.max() > 0 else layer


def _place(canvas: np.ndarray, layer: np.ndarray, top: int, left: int) -> None:
    """Add ``layer`` onto ``canvas`` at (top, left), clipped to the canvas."""
    h, w = layer.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, canvas.shape[0]), min(left + w, canvas.shape[1])
    if y1 > y0 and x1 > x0:
        canvas[y0:y1, x0:x1] = np.maximum(canvas[y0:y1, x0:x1], layer[y0 - top : y1 - top, x0 - left : x1 - left])


def _with_neighbours(layer: np.ndarray, neighbours: list[np.ndarray], rng: random.Random) -> tuple[np.ndarray, tuple]:
    """The line's layer with parts of the lines above and below it, and the line's ink bounds in it."""
    bounds = _ink_bounds((layer * 255).astype(np.uint8), 0) or (0, 0, layer.shape[1], layer.shape[0])
    x0, y0, x1, y1 = bounds
    text_h = max(y1 - y0, 1)
    margin = 2 * text_h + 8
    canvas = np.zeros((layer.shape[0] + 2 * margin, layer.shape[1]), dtype=np.float32)
    _place(canvas, layer, margin, 0)
    for side, other in zip(("above", "below"), neighbours):
        if other is None:
            continue
        ob = _ink_bounds((other * 255).astype(np.uint8), 0)
        if ob is None:
            continue
        gap = int(text_h * rng.uniform(-0.05, 0.45))
        left = rng.randint(-other.shape[1] // 2, max(layer.shape[1] // 2, 1))
        if side == "above":  # its ink bottom sits ``gap`` above our ink top
            top = margin + y0 - gap - ob[3]
        else:
            top = margin + y1 + gap - ob[1]
        _place(canvas, other, top, left)
    return canvas, (x0, y0 + margin, x1, y1 + margin)


def _scanner_edge(image: np.ndarray, rng: random.Random, dark: int) -> np.ndarray:
    """A dark wedge from one corner, where the scanner saw past the paper's edge."""
    h, w = image.shape
    corner_x = rng.choice([0, w - 1])
    reach = rng.uniform(0.05, 0.25) * w
    xx = np.abs(np.arange(w, dtype=np.float32) - corner_x)[None, :]
    yy = np.arange(h, dtype=np.float32)[:, None] / max(h - 1, 1)
    if rng.random() < 0.5:
        yy = 1.0 - yy
    inside = xx < reach * (1.0 - yy)
    return np.where(inside, float(dark), image)


def render_scan_line(
    text: str,
    font_path: Path | FontFace,
    rng: random.Random,
    height: int = 32,
    strength: float = 1.0,
    neighbour_texts: tuple[str | None, str | None] = (None, None),
) -> np.ndarray:
    """Render ``text`` as a uint8 grayscale crop ``height`` px high, degraded like a receipt scan."""
    s = strength
    size = rng.randint(18, 44)
    dark = rng.randint(0, 110)
    light = rng.randint(max(dark + 60, 120), 255)
    inverted = rng.random() < 0.06 * s
    fg, bg = (light, dark) if inverted else (dark, light)
    spacing = rng.choice([0, 1, 2, 3]) if rng.random() < 0.25 * s else 0
    x_scale = rng.uniform(0.6, 1.35) if rng.random() < 0.5 * s else 1.0
    layer = _text_layer(text, font_path, size, spacing, x_scale)
    neighbours: list[np.ndarray | None] = [None, None]
    if rng.random() < 0.55 * s:
        for i, other in enumerate(neighbour_texts):
            if other and rng.random() < 0.7:
                neighbours[i] = _text_layer(other, font_path, size, spacing, x_scale)

    if rng.random() < 0.25 * s:  # stroke weight: heavy thermal print or a worn ribbon
        op = cv2.dilate if rng.random() < 0.5 else cv2.erode
        changed = op(layer, np.ones((2, 2), np.uint8))
        if changed.max() > 0.5:
            layer = changed
    if rng.random() < 0.15 * s:
        layer = _dot_matrix(layer, rng)
        neighbours = [_dot_matrix(n, rng) if n is not None else None for n in neighbours]

    layer, (x0, y0, x1, y1) = _with_neighbours(layer, neighbours, rng)
    text_h = max(y1 - y0, 1)
    h, w = layer.shape
    image = _background((h, w), bg, rng, s)
    ink = layer * (fg - bg)
    if rng.random() < 0.35 * s:  # faded thermal print: ink strength drifts along the line
        ink = ink * np.linspace(rng.uniform(0.35, 1.0), rng.uniform(0.35, 1.0), w, dtype=np.float32)[None, :]
    if rng.random() < 0.2 * s:  # a pale patch, where the paper was rubbed or the head ran cold
        centre, spread = rng.uniform(0, w), rng.uniform(0.05, 0.3) * w
        bump = np.exp(-0.5 * ((np.arange(w, dtype=np.float32) - centre) / spread) ** 2)[None, :]
        ink = ink * (1.0 - rng.uniform(0.4, 0.8) * bump)
    image = image + ink
    if rng.random() < 0.12 * s:  # table rule under, through or over the text
        y = int(np.clip(rng.choice([y1 + rng.randint(1, 4), (y0 + y1) // 2, y0 - rng.randint(1, 4)]), 0, h - 1))
        cv2.line(image, (0, y), (w - 1, y), float(fg), rng.choice([1, 1, 2]))

    # Cut as a detector (or a hand-drawn box) would: margins that often reach the next line.
    mt, mb = (int(text_h * rng.uniform(0.0, 0.45)) for _ in range(2))
    ml, mr = (int(text_h * rng.uniform(0.0, 0.8)) for _ in range(2))
    pad = max(ml, mr) + 2
    image = cv2.copyMakeBorder(image, 0, 0, pad, pad, cv2.BORDER_REPLICATE)
    crop = image[max(y0 - mt, 0) : y1 + mb, x0 + pad - ml : x1 + pad + mr]

    if rng.random() < 0.5 * s:  # skew from a receipt laid on the glass at a slant
        ch, cw = crop.shape
        m = cv2.getRotationMatrix2D((cw / 2, ch / 2), rng.uniform(-3.5, 3.5), 1.0)
        if rng.random() < 0.3:
            m[0, 1] += rng.uniform(-0.2, 0.2)
        crop = cv2.warpAffine(crop, m, (cw, ch), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.08 * s:
        crop = _scanner_edge(crop, rng, dark)

    ch, cw = crop.shape
    out_w = max(int(round(cw * height / ch)), 4)
    if rng.random() < 0.4 * s:  # 10-25 px high in the scan: shrink, then back up to the model's height
        factor = rng.uniform(0.3, 0.8)
        small = cv2.resize(crop, (max(int(out_w * factor), 4), max(int(height * factor), 4)), interpolation=cv2.INTER_AREA)
        crop = cv2.resize(small, (out_w, height), interpolation=rng.choice([cv2.INTER_LINEAR, cv2.INTER_CUBIC]))
    else:
        crop = cv2.resize(crop, (out_w, height), interpolation=cv2.INTER_AREA)
    return blur_noise_jpeg(crop, rng, s, blur_max=1.2, noise_max=16.0, jpeg_share=0.4, jpeg_worst=20)
