"""Multi-page TIFF: ``decode.decode_pages`` and ``Engine.ocr_pages`` / ``run_document``."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from edgeocr.decode import decode_pages, page_count
from edgeocr.errors import ImageTooLargeError
from tests.rendering import encode, render_lines


def tiff(*arrays: np.ndarray) -> bytes:
    frames = [Image.fromarray(a[:, :, ::-1].copy()) for a in arrays]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def test_every_page_is_decoded_in_order():
    small = np.full((40, 60, 3), 255, np.uint8)
    large = np.zeros((80, 50, 3), np.uint8)
    data = tiff(small, large)
    assert page_count(data) == 2
    pages = list(decode_pages(data))
    assert [(p.width, p.height) for p in pages] == [(60, 40), (50, 80)]
    assert pages[1].pixels.max() == 0 and pages[0].pixels.min() == 255


def test_each_page_is_held_to_the_pixel_limit():
    data = tiff(np.zeros((10, 10, 3), np.uint8), np.zeros((100, 100, 3), np.uint8))
    pages = decode_pages(data, max_pixels=1000)
    assert next(pages).width == 10
    with pytest.raises(ImageTooLargeError, match="page 2"):
        next(pages)


def test_single_images_give_one_page_and_the_usual_result(engine):
    data = encode(render_lines(["TOTAL 12.20"]))
    assert page_count(data) == 1
    assert len(engine.ocr_pages(data)) == 1
    assert engine.run_document(data)["text"] == engine.run(data)["text"] == "TOTAL 12.20"


def test_run_document_lists_pages_and_joins_text(engine):
    data = tiff(render_lines(["PAGE ONE 1.00"]), render_lines(["PAGE TWO 2.00"]))
    result = engine.run_document(data)
    assert result["success"] and result["image"]["pages"] == 2
    assert [p["text"] for p in result["pages"]] == ["PAGE ONE 1.00", "PAGE TWO 2.00"]
    assert result["text"] == "PAGE ONE 1.00\fPAGE TWO 2.00"
    assert engine.run_document(b"not an image")["error"]["code"] == "bad_image"
