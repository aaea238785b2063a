"""PDF input: open with limits checked from the header, render pages one at a time, read text layers.

pypdfium2 (PDFium, the renderer in Chrome; Apache-2.0/BSD; wheels for x86-64 and aarch64) parses
the cross-reference table and page tree without rendering anything, so the page count and every
page's size are known, and a PDF bomb refused, before a single pixel is allocated. PDFium runs no
JavaScript unless a form environment is set up, and we never set one up; embedded files are never
opened. Each page is rendered, recognized and dropped before the next, so memory holds one page.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .decode import DecodedImage
from .errors import BadImageError, ImageTooLargeError, PdfBrokenError, PdfEncryptedError, TooManyPagesError

PDF_MAGIC = b"%PDF-"
POINTS_PER_INCH = 72.0
# Body text is 10-12 pt; at 10 pt a line (ascender to descender, about 1.15 em) should come out as
# tall as the recognizer's input: 300 dpi for the 48-px ppocrv6 recognizer, 200 for a 32-px one.
# bench/bench_pdf.py --dpi compares resolutions on a scan-like A4 page (10-pt text read without
# error at both 200 and 300 dpi there; 300 keeps a margin for smaller print).
REFERENCE_POINT_SIZE = 10.0
LINE_EM = 1.15
# Below this the page is unreadable anyway: refuse rather than render it smaller to fit max_pixels.
MIN_DPI = 100
MAX_AUTO_DPI = 400
# A page side no real document has (A0 is 3370 pt); PDF's own implementation limit is 14400.
MAX_PAGE_POINTS = 14_400.0


def is_pdf(data: bytes) -> bool:
    """PDF files may have up to 1 KiB of junk before the header (the spec allows it, scanners do it)."""
    return PDF_MAGIC in data[:1024]


def auto_dpi(recognizer_height: int) -> int:
    """The render resolution at which a line of body text is about ``recognizer_height`` pixels."""
    dpi = recognizer_height * POINTS_PER_INCH / (REFERENCE_POINT_SIZE * LINE_EM)
    return int(min(MAX_AUTO_DPI, max(MIN_DPI, round(dpi / 50.0) * 50)))


@dataclass(frozen=True)
class PdfPage:
    """One page as the engine sees it, and where its pixels sit on the PDF page."""

    index: int
    width_pt: float
    height_pt: float
    dpi: float
    image: DecodedImage | None          # None when the page came from its text layer
    text_lines: tuple[tuple[str, tuple[float, float, float, float]], ...] = ()  # (text, box in pt, top-left origin)

    @property
    def scale(self) -> float:
        """Pixels per point."""
        return self.dpi / POINTS_PER_INCH


class PdfDocument:
    """An opened PDF whose size limits were checked; iterate ``pages()`` to render them lazily."""

    def __init__(self, data: bytes, max_pages: int, max_pixels: int, dpi: int) -> None:
        import pypdfium2 as pdfium

        self.sha256 = hashlib.sha256(data).hexdigest()
        try:
            self._pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) == 4:  # FPDF_ERR_PASSWORD
                raise PdfEncryptedError("the PDF is encrypted with a password; edgeocr does not open protected "
                                        "files (remove the password, then drop it in again)") from None
            raise PdfBrokenError(f"the PDF cannot be read: {exc} (a truncated file or a broken "
                                 "cross-reference table)") from None
        try:
            self.page_count = len(self._pdf)
            if self.page_count < 1:
                raise PdfBrokenError("the PDF has no pages")
            if self.page_count > max_pages:
                raise TooManyPagesError(f"the PDF has {self.page_count} pages; the limit is {max_pages} "
                                        "(engine.max_pages)")
            self.sizes = [self._page_size(i) for i in range(self.page_count)]
            self.dpis = [self._fit_dpi(i, w, h, dpi, max_pixels) for i, (w, h) in enumerate(self.sizes)]
        except BaseException:
            self.close()
            raise

    def _page_size(self, index: int) -> tuple[float, float]:
        try:
            width, height = self._pdf.get_page_size(index)
        except Exception as exc:  # PDFium reports a page it cannot find in the tree as a failure
            raise PdfBrokenError(f"page {index + 1}: its size cannot be read ({exc})") from None
        if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
            raise PdfBrokenError(f"page {index + 1} has no area ({width} x {height} pt)")
        if max(width, height) > MAX_PAGE_POINTS:
            raise ImageTooLargeError(f"page {index + 1} is {width:.0f} x {height:.0f} pt; no side may exceed "
                                     f"{MAX_PAGE_POINTS:.0f} pt (200 inches)")
        return float(width), float(height)

    @staticmethod
    def _fit_dpi(index: int, width: float, height: float, dpi: int, max_pixels: int) -> float:
        """``dpi``, or less so that the page fits ``max_pixels``; refused below ``MIN_DPI``."""
        pixels = math.ceil(width * dpi / POINTS_PER_INCH) * math.ceil(height * dpi / POINTS_PER_INCH)
        if pixels <= max_pixels:
            return float(dpi)
        fitted = POINTS_PER_INCH * math.sqrt(max_pixels / (width * height))
        if fitted < min(MIN_DPI, dpi):
            raise ImageTooLargeError(
                f"page {index + 1} is {width:.0f} x {height:.0f} pt: at {MIN_DPI} dpi that is "
                f"{width * height * (MIN_DPI / POINTS_PER_INCH) ** 2 / 1e6:.0f} MP; the limit is "
                f"{max_pixels / 1e6:.1f} MP (engine.max_pixels)")
        fitted = math.floor(fitted * 100) / 100
        # PDFium rounds each side up to whole pixels: step down until the rounded page fits too.
        while math.ceil(width * fitted / POINTS_PER_INCH) * math.ceil(height * fitted / POINTS_PER_INCH) > max_pixels:
            fitted -= 0.01
        return round(fitted, 2)

    def pages(self, use_text_layer: bool = False) -> Iterator[PdfPage]:
        for index, ((width, height), dpi) in enumerate(zip(self.sizes, self.dpis)):
            page = self._pdf[index]
            try:
                lines = text_layer_lines(page, height) if use_text_layer else ()
                if lines:
                    yield PdfPage(index, width, height, dpi, None, lines)
                    continue
                yield PdfPage(index, width, height, dpi, self._render(page, index, dpi))
            finally:
                page.close()

    def _render(self, page: object, index: int, dpi: float) -> DecodedImage:
        try:
            bitmap = page.render(scale=dpi / POINTS_PER_INCH, may_draw_forms=False)  # type: ignore[attr-defined]
            pixels = np.array(bitmap.to_numpy()[:, :, :3])  # PDFium renders BGR(x): OpenCV's order already
            bitmap.close()
        except Exception as exc:
            raise BadImageError(f"page {index + 1} could not be rendered: {exc}") from None
        return DecodedImage(pixels, "PDF", self.sha256, 1)

    def close(self) -> None:
        self._pdf.close()

    def __enter__(self) -> "PdfDocument":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def text_layer_lines(page: object, height_pt: float) -> tuple[tuple[str, tuple[float, float, float, float]], ...]:
    """The page's own text, one entry per run PDFium sees as a line, boxes in points from the top left.

    Empty when the page has no real text (a scan, or only whitespace): that page is recognized.
    """
    textpage = page.get_textpage()  # type: ignore[attr-defined]
    try:
        if textpage.count_chars() < 1:
            return ()
        lines = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(left, bottom, right, top).strip()
            if text:
                lines.append((text, (left, height_pt - top, right, height_pt - bottom)))
        return tuple(lines)
    finally:
        textpage.close()
