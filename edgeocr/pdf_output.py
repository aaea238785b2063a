"""Searchable PDF: the input's pages with an invisible text layer laid on the recognized lines.

A PDF input keeps its pages exactly as they are: pikepdf (qpdf; MPL-2.0) copies every stream
without decoding it, and each page only gains one more content stream and a font resource. An
image input becomes one page per image (a JPEG is embedded as it is, DCT data untouched; other
formats as Flate-compressed RGB). The text is drawn in render mode 3 (neither filled nor
stroked) with the glyph-less font of ``pdf_font``, each line scaled to the box it was read from,
so selecting in a viewer covers the printed words and ``pdftotext`` gives back what we read.
"""
from __future__ import annotations

import io
import zlib
from typing import Any, Iterable

from .errors import PdfOutputError
from .pdf_font import FONT_RESOURCE, GlyphMap, add_font

POINTS_PER_INCH = 72.0
DEFAULT_IMAGE_DPI = 300.0  # an image without a resolution tag: the usual scanner setting


def _page_results(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["pages"] if "pages" in document else [document]


def _text_ops(lines: Iterable[dict[str, Any]], scale: float, left: float, top: float, glyphs: GlyphMap) -> bytes:
    """PDF operators that place each line's text over its box; ``scale`` is pixels per point and
    (``left``, ``top``) the visible page's top-left corner in PDF user space."""
    ops = ["BT", "3 Tr"]
    for line in lines:
        text = line.get("text", "")
        if not text.strip():
            continue
        x0, y0, x1, y1 = (v / scale for v in line["box"])
        height, width = max(y1 - y0, 1.0), max(x1 - x0, 1.0)
        size = height
        natural = glyphs.advance * len(text) * size
        stretch = 100.0 * width / natural if natural > 0 else 100.0
        baseline = top - y1 - glyphs.descent * size  # descent is negative: the baseline sits above the box bottom
        ops.append(f"/{FONT_RESOURCE} {size:.2f} Tf {stretch:.2f} Tz 1 0 0 1 {left + x0:.2f} {baseline:.2f} Tm "
                   f"<{glyphs.encode(text)}> Tj")
    ops.append("ET")
    return ("\n".join(ops) + "\n").encode("ascii")


def _lines_of(page: dict[str, Any]) -> list[dict[str, Any]]:
    # The text layer holds what we read, in our reading order (pages from the PDF's own text layer
    # already have one and get nothing added).
    return page.get("text_lines", []) if page.get("read_from", "ocr") == "ocr" else []


def _add_layer_to_pdf(data: bytes, pages: list[dict[str, Any]]) -> bytes:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        glyphs = GlyphMap()
        layers = []
        for result, page in zip(pages, pdf.pages):
            box = [float(v) for v in (page.obj.get("/CropBox") or page.mediabox)]
            left, top = min(box[0], box[2]), max(box[1], box[3])
            scale = float(result.get("pdf", {}).get("dpi", POINTS_PER_INCH)) / POINTS_PER_INCH
            layers.append((page, _text_ops(_lines_of(result), scale, left, top, glyphs)))
        font = add_font(pdf, glyphs)
        for page, ops in layers:
            if ops.count(b"Tj") == 0:
                continue
            rotate = int(page.obj.get("/Rotate", 0)) % 360
            if rotate:
                ops = _unrotate(page, rotate) + ops
            if "/Resources" not in page.obj:
                page.obj.Resources = pikepdf.Dictionary()
            if "/Font" not in page.obj.Resources:
                page.obj.Resources.Font = pikepdf.Dictionary()
            page.obj.Resources.Font[f"/{FONT_RESOURCE}"] = font
            # q/Q around the page's own content: whatever state it leaves cannot move our text.
            page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
            page.contents_add(pdf.make_stream(b"Q\n" + ops), prepend=False)
        out = io.BytesIO()
        pdf.save(out, compress_streams=True)
        return out.getvalue()


def _unrotate(page: Any, rotate: int) -> bytes:
    """Our boxes are on the page as shown (rotated); map them back to the unrotated user space."""
    box = [float(v) for v in page.mediabox]
    width, height = abs(box[2] - box[0]), abs(box[3] - box[1])
    matrix = {90: (0, -1, 1, 0, 0, height), 180: (-1, 0, 0, -1, width, height), 270: (0, 1, -1, 0, width, 0)}
    a, b, c, d, e, f = matrix.get(rotate, (1, 0, 0, 1, 0, 0))
    return f"{a} {b} {c} {d} {e:.2f} {f:.2f} cm\n".encode("ascii")


def _image_frames(data: bytes) -> list[tuple[str, int, int, bytes, float, str]]:
    """(filter, width, height, stream bytes, dpi, colour space) for each page of an image file."""
    from PIL import Image, ImageOps, ImageSequence

    frames = []
    with Image.open(io.BytesIO(data)) as image:
        dpi = float((image.info.get("dpi") or (DEFAULT_IMAGE_DPI,))[0] or DEFAULT_IMAGE_DPI)
        dpi = dpi if 20.0 <= dpi <= 2400.0 else DEFAULT_IMAGE_DPI
        orientation = image.getexif().get(0x0112, 1) if image.format in ("JPEG", "MPO") else 1
        if image.format in ("JPEG", "MPO") and orientation in (1, None) and image.mode in ("RGB", "L"):
            space = "/DeviceGray" if image.mode == "L" else "/DeviceRGB"
            return [("/DCTDecode", image.width, image.height, data, dpi, space)]  # the JPEG as it is
        for frame in ImageSequence.Iterator(image):
            rgb = ImageOps.exif_transpose(frame.convert("RGB")) if orientation != 1 else frame.convert("RGB")
            frames.append(("/FlateDecode", rgb.width, rgb.height, zlib.compress(rgb.tobytes(), 6), dpi,
                           "/DeviceRGB"))
    return frames


def _image_pdf(data: bytes, pages: list[dict[str, Any]]) -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    glyphs = GlyphMap()
    placed = []
    for (filter_name, width, height, stream, dpi, space), result in zip(_image_frames(data), pages):
        w_pt, h_pt = width * POINTS_PER_INCH / dpi, height * POINTS_PER_INCH / dpi
        image = pdf.make_stream(stream, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=width,
                                Height=height, ColorSpace=pikepdf.Name(space), BitsPerComponent=8,
                                Filter=pikepdf.Name(filter_name))
        scale = result.get("image", {}).get("width", width) / w_pt
        ops = _text_ops(_lines_of(result), scale, 0.0, h_pt, glyphs)
        placed.append((image, w_pt, h_pt, ops))
    font = add_font(pdf, glyphs)
    for image, w_pt, h_pt, ops in placed:
        content = f"q {w_pt:.2f} 0 0 {h_pt:.2f} 0 0 cm /Im0 Do Q\n".encode("ascii") + ops
        page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, round(w_pt, 2), round(h_pt, 2)],
                                  Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image),
                                                               Font=pikepdf.Dictionary({f"/{FONT_RESOURCE}": font})),
                                  Contents=pdf.make_stream(content))
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out, compress_streams=True)
    return out.getvalue()


def searchable_pdf(data: bytes, document: dict[str, Any]) -> bytes:
    """The searchable PDF for an input and its successful result; raises ``PdfOutputError``."""
    from .pdf_input import is_pdf

    if not document.get("success"):
        raise PdfOutputError("no searchable PDF for an input that failed")
    pages = _page_results(document)
    try:
        if is_pdf(data):
            return _add_layer_to_pdf(data, pages)
        return _image_pdf(data, pages)
    except PdfOutputError:
        raise
    except Exception as exc:  # pikepdf/qpdf or Pillow refusing something we already read once
        raise PdfOutputError(f"the searchable PDF could not be written: {type(exc).__name__}: {exc}") from None
