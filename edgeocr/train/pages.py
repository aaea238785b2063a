"""Whole pages for training the text detector, assembled from rendered text lines.

A page is a pure function of ``(seed, index, fonts)``: receipts, invoices/forms, documents,
screenshots or signs, laid out on a grayscale canvas, then turned, warped and degraded as a scan or
a phone photo would be. Labels are line (segment) quadrilaterals, transformed with the page, in the
same sense as the SROIE box files: one box per run of words that a reader would take as one item.
Text comes from the recognizer's corpus; fonts are whatever the caller passes, which for training
is ``latin_training_fonts()`` so that the evaluation fonts are never seen.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .charset import latin_charset
from .corpus import clock, code, date, phone, price, sample_english_line, words_line
from .render import font_covers, load_font


@dataclass(frozen=True)
class RenderedPage:
    image: np.ndarray              # uint8 grayscale (H, W)
    quads: tuple[np.ndarray, ...]  # (4, 2) float32, clockwise from top-left
    texts: tuple[str, ...]


class _Canvas:
    """A grayscale page being drawn on, with the label of every text segment put on it."""

    def __init__(self, width: int, height: int, bg: int) -> None:
        self.image = Image.new("L", (width, height), color=bg)
        self.draw = ImageDraw.Draw(self.image)
        self.quads: list[np.ndarray] = []
        self.texts: list[str] = []

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def text(self, x: float, y: float, text: str, font_path: Path, size: int, fill: int) -> tuple[float, float] | None:
        """Draw ``text`` with its top-left ink corner near (x, y); returns the ink box's (right, bottom)."""
        text = text.strip()
        font = load_font(str(font_path), size)
        if not text or not font_covers(font_path, text):
            return None
        left, top, right, bottom = font.getbbox(text)
        if right - left < 2 or bottom - top < 2:
            return None
        ox, oy = x - left, y - top
        width, height = self.size
        if x + (right - left) > width or y + (bottom - top) > height or x < 0 or y < 0:
            return None
        self.draw.text((ox, oy), text, font=font, fill=fill)
        # SROIE-style boxes sit a little outside the ink; pad by a fraction of the text height.
        pad = 0.12 * (bottom - top)
        x0, y0, x1, y1 = ox + left - pad, oy + top - pad, ox + right + pad, oy + bottom + pad
        self.quads.append(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32))
        self.texts.append(text)
        return ox + right, oy + bottom


def _line_text(rng: random.Random, charset: list[str], max_chars: int = 40) -> str:
    return sample_english_line(rng, charset, max_chars)


def _pick_font(rng: random.Random, fonts: list[Path], mono: bool = False) -> Path:
    if mono:
        monos = [f for f in fonts if "mono" in f.stem.lower()]
        if monos:
            return rng.choice(monos)
    return rng.choice(fonts)


# -- layouts -----------------------------------------------------------------------------------


def _receipt(rng: random.Random, fonts: list[Path], charset: list[str]) -> _Canvas:
    size = rng.randint(12, 26)
    width = rng.randint(16, 42) * size * 6 // 10
    rows = rng.randint(12, 45)
    gap = rng.uniform(1.15, 1.9)
    canvas = _Canvas(width, int(rows * size * gap + 4 * size), rng.randint(200, 255))
    font = _pick_font(rng, fonts, mono=rng.random() < 0.8)
    ink = rng.randint(0, 90)
    y = rng.uniform(0.5, 2.0) * size
    margin = rng.uniform(0.3, 1.5) * size
    for _ in range(rows):
        kind = rng.random()
        if kind < 0.2:  # centred header / footer line
            text = rng.choice([words_line(rng, 4).upper(), phone(rng), date(rng) + " " + clock(rng), code(rng)])
            length = load_font(str(font), size).getlength(text)
            canvas.text(max(margin, (width - length) / 2), y, text, font, size, ink)
        elif kind < 0.75:  # item ... price: two segments far apart, as SROIE boxes them
            canvas.text(margin, y, rng.choice([words_line(rng, 3).upper(), f"{rng.randint(1, 9)} x {price(rng)}"]),
                        font, size, ink)
            text = price(rng)
            length = load_font(str(font), size).getlength(text)
            canvas.text(width - margin - length, y, text, font, size, ink)
        elif kind < 0.85:  # dashed rule: ink that is not text
            top = int(y + size / 2)
            for x in range(int(margin), int(width - margin), max(4, size // 2)):
                canvas.draw.line([(x, top), (x + max(2, size // 4), top)], fill=ink, width=max(1, size // 10))
        else:
            canvas.text(margin, y, _line_text(rng, charset, 30), font, size, ink)
        y += size * gap
    return canvas


def _form(rng: random.Random, fonts: list[Path], charset: list[str]) -> _Canvas:
    size = rng.randint(10, 24)
    width, height = rng.randint(500, 1100), rng.randint(500, 1200)
    canvas = _Canvas(width, height, rng.randint(215, 255))
    font, ink = _pick_font(rng, fonts), rng.randint(0, 80)
    margin = rng.randint(20, 60)
    y = margin
    for _ in range(rng.randint(1, 3)):  # heading lines
        end = canvas.text(margin, y, rng.choice([words_line(rng, 4), "INVOICE " + code(rng), date(rng)]), font,
                          int(size * rng.uniform(1.0, 1.8)), ink)
        y += (end[1] - y if end else size) + size
    cols = rng.randint(2, 5)
    bounds = sorted(rng.sample(range(margin + 40, width - margin), cols - 1)) if width - 2 * margin > 40 * cols else []
    xs = [margin] + bounds + [width - margin]
    row_h = int(size * rng.uniform(1.6, 2.4))
    rule = rng.random() < 0.8
    while y + row_h < height - margin:
        if rule:
            canvas.draw.line([(margin, y), (width - margin, y)], fill=ink, width=rng.choice([1, 1, 2]))
        for left, right in zip(xs, xs[1:]):
            if rng.random() < 0.8:
                text = rng.choice([price(rng), words_line(rng, 3), code(rng), str(rng.randint(1, 99)), date(rng)])
                loaded = load_font(str(font), size)
                while len(text) > 1 and loaded.getlength(text) > right - left - 8:
                    text = text[: len(text) * 2 // 3].strip() or text[0]
                if loaded.getlength(text) <= right - left - 8:  # a cell too narrow for one character stays empty
                    canvas.text(left + 4, y + (row_h - size) / 2, text, font, size, ink)
        y += row_h
    if rule:
        for x in xs:
            canvas.draw.line([(x, margin), (x, y)], fill=ink, width=1)
    if rng.random() < 0.5:  # a stamp: a ring with a word in it, lighter than the print
        cx, cy, r = rng.randint(0, width), rng.randint(0, height), rng.randint(40, 110)
        tone = rng.randint(60, 150)
        canvas.draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=tone, width=rng.randint(2, 5))
        canvas.text(cx - r * 0.6, cy - r * 0.2, rng.choice(["PAID", "RECEIVED", "APPROVED", "COPY"]), font,
                    max(8, r // 3), tone)
    return canvas


def _document(rng: random.Random, fonts: list[Path], charset: list[str]) -> _Canvas:
    size = rng.randint(10, 30)
    width, height = rng.randint(500, 1200), rng.randint(600, 1400)
    canvas = _Canvas(width, height, rng.randint(210, 255))
    font, ink = _pick_font(rng, fonts), rng.randint(0, 80)
    margin = rng.randint(20, 80)
    columns = 2 if width > 700 and rng.random() < 0.4 else 1
    col_w = (width - 2 * margin - (columns - 1) * size * 2) / columns
    loaded = load_font(str(font), size)
    for col in range(columns):
        x0, y = margin + col * (col_w + size * 2), margin
        if col == 0 and rng.random() < 0.6:  # title
            end = canvas.text(x0, y, words_line(rng, 5), font, int(size * rng.uniform(1.3, 2.2)), ink)
            y += (end[1] - y if end else size) + size
        while y + size * 2 < height - margin:
            line = ""
            for _ in range(40):  # fill one line of a paragraph up to the column width
                word = words_line(rng, 1)
                if loaded.getlength((line + " " + word).strip()) > col_w:
                    break
                line = (line + " " + word).strip()
            canvas.text(x0, y, line, font, size, ink)
            y += size * rng.uniform(1.3, 1.7)
            if rng.random() < 0.12:
                y += size  # paragraph break
    return canvas


def _screenshot(rng: random.Random, fonts: list[Path], charset: list[str]) -> _Canvas:
    dark = rng.random() < 0.4
    bg = rng.randint(15, 60) if dark else rng.randint(225, 255)
    width, height = rng.randint(480, 1280), rng.randint(320, 900)
    canvas = _Canvas(width, height, bg)
    font = _pick_font(rng, fonts)
    y = rng.randint(5, 30)
    while y < height - 30:
        size = rng.randint(9, 20)
        bar = rng.random() < 0.3
        if bar:  # a UI bar or button with its label on it
            tone = rng.randint(90, 180)
            canvas.draw.rectangle([0, y, width, y + size * 2.2], fill=tone)
            ink = 255 if tone < 135 else 0
        else:
            ink = rng.randint(200, 255) if dark else rng.randint(0, 70)
        x = rng.randint(5, 40)
        for _ in range(rng.randint(1, 3)):
            end = canvas.text(x, y + (size * 0.6 if bar else 0), _line_text(rng, charset, 30), font, size, ink)
            if end is None:
                break
            x = end[0] + size * rng.uniform(2.5, 8)
        y += int(size * (2.6 if bar else rng.uniform(1.5, 2.5)))
    return canvas


def _sign(rng: random.Random, fonts: list[Path], charset: list[str]) -> _Canvas:
    width, height = rng.randint(400, 1200), rng.randint(300, 900)
    np_rng = np.random.default_rng(rng.randrange(2**32))
    texture = cv2.GaussianBlur(np_rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), rng.uniform(1, 12))
    base = rng.randint(60, 200) + texture / (texture.std() + 1e-6) * rng.uniform(10, 45)
    canvas = _Canvas(width, height, 0)
    canvas.image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    canvas.draw = ImageDraw.Draw(canvas.image)
    font = _pick_font(rng, fonts)
    y = rng.randint(10, 60)
    for _ in range(rng.randint(1, 4)):
        size = rng.randint(30, min(200, max(31, height // 3)))
        text = rng.choice([words_line(rng, 3).upper(), words_line(rng, 2), price(rng), phone(rng)])
        loaded = load_font(str(font), size)
        while len(text) > 1 and loaded.getlength(text) > width - 20:
            text = text[: len(text) * 2 // 3].strip()
        plate = rng.random() < 0.5
        light = rng.random() < 0.5
        if plate:
            left, top, right, bottom = loaded.getbbox(text)
            pad = size // 4
            canvas.draw.rectangle([10, y - pad, 10 + right - left + 2 * pad, y + bottom - top + pad],
                                  fill=rng.randint(200, 255) if not light else rng.randint(0, 60))
            x = 10 + pad
        else:
            x = rng.randint(5, max(6, width // 4))
        end = canvas.text(x, y, text, font, size, rng.randint(200, 255) if light else rng.randint(0, 50))
        y = int((end[1] if end else y + size) + size * rng.uniform(0.4, 1.0))
        if y > height - 30:
            break
    return canvas


LAYOUTS: dict[str, tuple[float, Callable]] = {
    "receipt": (0.35, _receipt), "form": (0.2, _form), "document": (0.2, _document),
    "screenshot": (0.1, _screenshot), "sign": (0.15, _sign),
}


# -- camera and scanner ------------------------------------------------------------------------


def _warp(image: np.ndarray, quads: list[np.ndarray], rng: random.Random, strength: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Scale, turn and tilt the page (a homography); labels move with it."""
    h, w = image.shape
    scale = rng.uniform(0.6, 1.4)
    angle = rng.gauss(0, 2.0 * strength) if rng.random() < 0.8 else rng.uniform(-15, 15) * strength
    centre = np.array([w / 2, h / 2])
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    jitter = 0.06 * strength * min(w, h) if rng.random() < 0.4 else 0.0
    moved = corners + np.array([[rng.uniform(-jitter, jitter), rng.uniform(-jitter, jitter)] for _ in range(4)])
    theta = np.deg2rad(angle)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = ((moved - centre) @ rot.T) * scale
    moved -= moved.min(axis=0)
    margin = rng.uniform(0, 0.08) * max(w, h) * scale
    moved += margin
    size = (int(moved[:, 0].max() + margin) + 1, int(moved[:, 1].max() + margin) + 1)
    matrix = cv2.getPerspectiveTransform(corners, moved.astype(np.float32))
    border = int(np.median(np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])))
    warped = cv2.warpPerspective(image, matrix, size, flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=rng.choice([border, rng.randint(0, 255)]))
    moved_quads = [cv2.perspectiveTransform(q.reshape(1, 4, 2), matrix).reshape(4, 2).astype(np.float32) for q in quads]
    return warped, moved_quads


def _light_and_noise(image: np.ndarray, rng: random.Random, strength: float, thermal: bool) -> np.ndarray:
    h, w = image.shape
    out = image.astype(np.float32)
    np_rng = np.random.default_rng(rng.randrange(2**32))
    if thermal and rng.random() < 0.6:  # faded thermal print: the ink lightens across the paper
        fade = np.linspace(rng.uniform(0.3, 1.0), rng.uniform(0.3, 1.0), h, dtype=np.float32)[:, None]
        paper = float(np.percentile(out, 90))
        out = paper - (paper - out) * fade
    if rng.random() < 0.5 * strength:  # uneven light: a gradient in a random direction
        gx, gy = np.meshgrid(np.linspace(-1, 1, w, dtype=np.float32), np.linspace(-1, 1, h, dtype=np.float32))
        angle = rng.uniform(0, 2 * np.pi)
        out += (np.cos(angle) * gx + np.sin(angle) * gy) * rng.uniform(10, 60)
    if rng.random() < 0.35 * strength:  # a soft shadow across part of the page
        mask = np.zeros((h, w), np.float32)
        pts = np.array([[rng.uniform(-0.2, 1.2) * w, rng.uniform(-0.2, 1.2) * h] for _ in range(4)], np.int32)
        cv2.fillConvexPoly(mask, cv2.convexHull(pts), 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, rng.uniform(0.01, 0.08) * max(h, w)))
        out *= 1.0 - mask * rng.uniform(0.2, 0.6)
    if rng.random() < 0.4 * strength:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.6))
    if rng.random() < 0.5 * strength:
        out += np_rng.normal(0, rng.uniform(2, 15), out.shape).astype(np.float32)
    result = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.4 * strength:
        ok, buffer = cv2.imencode(".jpg", result, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(30, 90)])
        if ok:
            result = cv2.imdecode(buffer, cv2.IMREAD_GRAYSCALE)
    return result


def render_page(seed: int, index: int, fonts: list[Path], charset: list[str] | None = None,
                layout: str | None = None, max_side: int = 1600) -> RenderedPage:
    """One page, the same for the same arguments in any process."""
    if not fonts:
        raise ValueError("no fonts to render pages with")
    rng = random.Random(f"page:{seed}:{index}")
    charset = charset or latin_charset()
    names = list(LAYOUTS)
    name = layout or rng.choices(names, weights=[LAYOUTS[n][0] for n in names])[0]
    canvas = LAYOUTS[name][1](rng, fonts, charset)
    strength = 0.0 if rng.random() < 0.15 else rng.uniform(0.3, 1.0)
    image, quads = _warp(np.asarray(canvas.image), canvas.quads, rng, strength)
    if max(image.shape) > max_side:  # keep pages to what a camera or scanner gives after resizing
        factor = max_side / max(image.shape)
        image = cv2.resize(image, (max(1, int(image.shape[1] * factor)), max(1, int(image.shape[0] * factor))),
                           interpolation=cv2.INTER_AREA)
        quads = [q * factor for q in quads]
    image = _light_and_noise(image, rng, strength, thermal=name == "receipt")
    return RenderedPage(image, tuple(q.astype(np.float32) for q in quads), tuple(canvas.texts))


def _render_star(args: tuple) -> RenderedPage:
    return render_page(*args)


def render_pages(seed: int, indices: list[int], fonts: list[Path], workers: int = 1) -> list[RenderedPage]:
    """Many pages, in parallel worker processes when ``workers`` > 1; order follows ``indices``."""
    jobs = [(seed, index, fonts) for index in indices]
    if workers <= 1:
        return [_render_star(job) for job in jobs]
    with get_context("spawn").Pool(workers) as pool:
        return pool.map(_render_star, jobs, chunksize=max(1, len(jobs) // (4 * workers)))
