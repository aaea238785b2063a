"""Test images drawn with a real TrueType font, so every test knows the text it asserts."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


def font_path() -> Path:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FileNotFoundError("tests need fonts-dejavu-core (or fonts-liberation): apt-get install fonts-dejavu-core")


def render_lines(lines: list[str], font_size: int = 32, margin: int = 40, line_gap: float = 1.0,
                 fg: int = 20, bg: int = 245) -> np.ndarray:
    """A white page with each string on its own line; returns a BGR uint8 array."""
    font = ImageFont.truetype(str(font_path()), font_size)
    ascent, descent = font.getmetrics()
    line_height = int((ascent + descent) * (1 + line_gap))
    width = max(int(font.getlength(text)) for text in lines) + 2 * margin
    height = line_height * len(lines) + 2 * margin
    page = Image.new("L", (width, height), color=bg)
    draw = ImageDraw.Draw(page)
    for row, text in enumerate(lines):
        draw.text((margin, margin + row * line_height), text, font=font, fill=fg)
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_GRAY2BGR)


def line_boxes(lines: list[str], font_size: int = 32, margin: int = 40, line_gap: float = 1.0) -> list[tuple[int, int, int, int]]:
    """Where ``render_lines`` put each line's ink: (x1, y1, x2, y2)."""
    font = ImageFont.truetype(str(font_path()), font_size)
    ascent, descent = font.getmetrics()
    line_height = int((ascent + descent) * (1 + line_gap))
    boxes = []
    for row, text in enumerate(lines):
        left, top, right, bottom = font.getbbox(text)
        y = margin + row * line_height
        boxes.append((margin + left, y + top, margin + right, y + bottom))
    return boxes


def encode(image: np.ndarray, ext: str = ".png", params: list[int] | None = None) -> bytes:
    ok, buffer = cv2.imencode(ext, image, params or [])
    assert ok, f"could not encode test image as {ext}"
    return buffer.tobytes()


# A font no model we ship was trained with (training refuses it: edgeocr/train/fonts.py), for
# tests that measure reading rather than memory of a training font.
RESERVED_CJK_FONT = Path("/usr/share/fonts/truetype/arphic/ukai.ttc")


def reserved_cjk_font() -> Path:
    if not RESERVED_CJK_FONT.is_file():
        raise FileNotFoundError("tests need fonts-arphic-ukai: sudo tests/install-system-packages.sh")
    return RESERVED_CJK_FONT


def render_text_page(lines: list[str], font: Path, font_size: int = 36, margin: int = 48,
                     line_gap: float = 0.8) -> np.ndarray:
    """Like ``render_lines`` but in any font (a CJK one included); returns BGR uint8."""
    face = ImageFont.truetype(str(font), font_size)
    ascent, descent = face.getmetrics()
    line_height = int((ascent + descent) * (1 + line_gap))
    width = max(int(face.getlength(text)) for text in lines) + 2 * margin
    page = Image.new("L", (width, line_height * len(lines) + 2 * margin), color=245)
    draw = ImageDraw.Draw(page)
    for row, text in enumerate(lines):
        draw.text((margin, margin + row * line_height), text, font=face, fill=20)
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_GRAY2BGR)


def render_columns(columns: list[str], font: Path, font_size: int = 40, margin: int = 48,
                   column_gap: float = 1.0) -> np.ndarray:
    """Vertical writing: each string a column read top to bottom, the first column rightmost."""
    face = ImageFont.truetype(str(font), font_size)
    step = int(font_size * 1.1)
    column_width = int(font_size * (1 + column_gap))
    height = max(len(text) for text in columns) * step + 2 * margin
    width = column_width * len(columns) + 2 * margin
    page = Image.new("L", (width, height), color=245)
    draw = ImageDraw.Draw(page)
    for index, text in enumerate(columns):
        x = width - margin - (index + 1) * column_width + (column_width - font_size) // 2
        for row, char in enumerate(text):
            draw.text((x, margin + row * step), char, font=face, fill=20)
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_GRAY2BGR)
