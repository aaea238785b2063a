"""A PDF through the engine: one result per page, boxes in pixels and in PDF points.

The engine's ``run_document`` hands PDFs here, so the daemon, the CLI, the web API and stdin all
get the same result: ``pages: [...]`` like a multi-page TIFF, each page saying whether its text
was recognized (``"read_from": "ocr"``) or taken from the PDF's own text layer (``"text_layer"``,
only with ``pdf.use_text_layer: true``).
"""
from __future__ import annotations

import time
from typing import Any

from .pdf_input import PdfDocument, PdfPage, auto_dpi
from .result import SCHEMA_VERSION


def render_dpi(engine: Any) -> int:
    configured = engine.config.pdf.dpi
    return configured if configured is not None else auto_dpi(engine.pack.recognizer.input.height)


def _with_points(page_dict: dict[str, Any], page: PdfPage, source: str) -> dict[str, Any]:
    """Add the page's place in the PDF, and each line's box in points (origin top left, like pixels)."""
    scale = page.scale
    for line in page_dict.get("text_lines", []):
        line["box_pt"] = [round(v / scale, 2) for v in line["box"]]
    page_dict.update(page=page.index + 1, read_from=source,
                     pdf={"width_pt": round(page.width_pt, 2), "height_pt": round(page.height_pt, 2),
                          "dpi": page.dpi})
    return page_dict


def _text_layer_page(page: PdfPage, engine: Any) -> dict[str, Any]:
    scale = page.scale
    lines = []
    for text, (x0, y0, x1, y1) in page.text_lines:
        box = [int(round(x0 * scale)), int(round(y0 * scale)), int(round(x1 * scale)), int(round(y1 * scale))]
        lines.append({"text": text, "confidence": 1.0, "box": box,
                      "polygon": [[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]],
                      "detection_score": 1.0, "orientation": 0, "direction": "horizontal",
                      "recognizer": "pdf-text-layer"})
    return {"success": True, "schema_version": SCHEMA_VERSION, "text_lines": lines,
            "text": "\n".join(line["text"] for line in lines), "total_time": 0.0,
            "image": {"width": int(round(page.width_pt * scale)), "height": int(round(page.height_pt * scale)),
                      "format": "PDF"},
            "orientation": 0,
            "model": {"name": engine.pack.name, "version": engine.pack.version, "detector": "text_layer"}}


def ocr_pdf(engine: Any, data: bytes, options: Any) -> dict[str, Any]:
    """Every page of the PDF; raises ``EdgeOcrError`` subclasses (the caller turns them into dicts)."""
    limits = engine.config.engine
    started = time.perf_counter()
    pages: list[dict[str, Any]] = []
    with PdfDocument(data, limits.max_pages, limits.max_pixels, render_dpi(engine)) as document:
        opened = time.perf_counter() - started
        clock = time.perf_counter()
        for page in document.pages(engine.config.pdf.use_text_layer):
            if page.image is None:
                page_dict = _text_layer_page(page, engine)
                page_dict["total_time"] = round(time.perf_counter() - clock, 4)
                pages.append(_with_points(page_dict, page, "text_layer"))
            else:
                render = time.perf_counter() - clock
                result = engine.ocr_decoded(page.image, options, {"render": render})
                pages.append(_with_points(result.to_dict(), page, "ocr"))
            clock = time.perf_counter()
        sha = document.sha256
    recognized = [p for p in pages if p["read_from"] == "ocr"]
    model = (recognized[0] if recognized else pages[0])["model"]
    return {"success": True, "schema_version": SCHEMA_VERSION, "pages": pages,
            "text": "\f".join(page["text"] for page in pages),
            "total_time": round(time.perf_counter() - started, 4),
            "image": {"format": "PDF", "pages": len(pages), "sha256": sha, "open_seconds": round(opened, 4)},
            "pages_read_from": [page["read_from"] for page in pages],
            "model": model}
