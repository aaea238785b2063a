"""PDFs the tests make themselves: pages drawn with real fonts, and the broken kinds a scanner folder gets."""
from __future__ import annotations

import io
import re
import subprocess
import unicodedata
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from edgeocr.metrics import edit_distance

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# Two pages of a small scan at 300 dpi (a half-A5 slip): mixed Chinese and English, like a receipt.
MIXED_PAGES = (
    ["Invoice 2041 paid", "TOTAL 12.20 EUR", "今天天气很好"],
    ["Second page hello", "中文和English混合"],
)
DPI = 300


def page_image(lines: list[str] | tuple[str, ...], size: tuple[int, int] = (1240, 700), font_size: int = 44,
               noise: bool = False) -> Image.Image:
    """A white page with ``lines`` drawn in WenQuanYi Micro Hei (Latin and CJK glyphs)."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(CJK_FONT), font_size)
    for row, text in enumerate(lines):
        draw.text((80, 80 + row * int(font_size * 2.2)), text, font=font, fill="black")
    if noise:  # a scan's grey paper and speckles, so the page is not a clean render
        import numpy as np

        rng = np.random.default_rng(7)
        pixels = np.asarray(image).astype(np.int16) - rng.integers(0, 25, (size[1], size[0], 1))
        image = Image.fromarray(pixels.clip(0, 255).astype("uint8"))
    return image


def image_pdf(pages: list[Image.Image], quality: int = 85) -> bytes:
    """An image-only PDF (JPEG pages, as a scanner writes them) at ``DPI``."""
    out = io.BytesIO()
    pages[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=pages[1:], quality=quality)
    return out.getvalue()


def mixed_pdf() -> bytes:
    return image_pdf([page_image(lines) for lines in MIXED_PAGES])


def scan_pdf() -> bytes:
    return image_pdf([page_image(MIXED_PAGES[0], noise=True)])


def encrypted_pdf(data: bytes) -> bytes:
    import pikepdf

    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    return out.getvalue()


def truncated_pdf(data: bytes) -> bytes:
    """Cut in the middle of the page data: the cross-reference table and trailer are gone."""
    return data[: len(data) // 3]


def blank_pdf(pages: int, width_pt: float = 595.0, height_pt: float = 842.0) -> bytes:
    """``pages`` empty pages (all sharing one content stream): a page-count or page-size bomb."""
    import pikepdf

    pdf = pikepdf.new()
    for _ in range(pages):
        page = pdf.add_blank_page()
        page.mediabox = pikepdf.Array([0, 0, width_pt, height_pt])  # set directly: pikepdf caps at 14400
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def pdftotext(path: Path) -> str:
    """The text layer as poppler's ``pdftotext`` (poppler-utils) reads it."""
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def squash(text: str) -> str:
    """Text without whitespace or form feeds, NFKC: what must agree between pdftotext and our JSON."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate (Levenshtein distance over the reference length)."""
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return edit_distance(reference, hypothesis) / len(reference)
