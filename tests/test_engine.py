"""The engine end to end on the shipped default pack: real ONNX Runtime, real model, rendered pages."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import threading

import cv2
import numpy as np
import pytest
from PIL import Image

from edgeocr.config import Config, EngineConfig
from edgeocr.engine import Engine, OcrOptions
from edgeocr.errors import BadImageError, BadRequestError, ImageTooLargeError

from .rendering import encode, line_boxes, render_lines

PAGE = ["Invoice No. 2024-0117", "Coffee beans 2 x 12.50", "TOTAL 25.00", "Thank you for shopping"]


def iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


@pytest.fixture(scope="module")
def page_png() -> bytes:
    return encode(render_lines(PAGE))


def test_multi_line_page_text_boxes_and_order(engine, page_png):
    result = engine.ocr_bytes(page_png)
    assert [line.text for line in result.text_lines] == PAGE
    for line, truth_box in zip(result.text_lines, line_boxes(PAGE)):
        assert iou(line.box, truth_box) >= 0.5, (line.text, line.box, truth_box)
        assert 0.5 < line.confidence <= 1.0
        assert len(line.polygon) == 4


def test_result_json_shape(engine, page_png):
    data = engine.ocr_bytes(page_png).to_dict()
    assert data["success"] is True
    assert data["image"]["sha256"] == hashlib.sha256(page_png).hexdigest()
    assert data["image"]["format"] == "PNG"
    assert data["model"] == {"name": engine.pack.name, "version": engine.pack.version, "detector": engine.default_detector}
    assert set(data["timings"]) == {"decode", "preprocess", "detect", "recognize", "assemble"}
    assert data["total_time"] > 0
    first = data["text_lines"][0]
    assert set(first) >= {"text", "confidence", "box", "polygon"}
    assert first["box"][0] <= first["polygon"][0][0] and first["box"][2] >= first["polygon"][1][0]
    assert data["text"] == "\n".join(PAGE)


def test_beam_search_reads_the_same_clean_page(engine, page_png):
    result = engine.ocr_bytes(page_png, OcrOptions(beam_width=5))
    assert [line.text for line in result.text_lines] == PAGE


@pytest.mark.parametrize("rotation", [cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE])
def test_vertical_line_is_turned_and_read(engine, rotation):
    text = "VERTICAL 42"
    image = cv2.rotate(render_lines([text], font_size=36), rotation)
    result = engine.ocr_bytes(encode(image))
    assert [line.text for line in result.text_lines] == [text]
    line = result.text_lines[0]
    assert line.orientation in (90, 270)
    x1, y1, x2, y2 = line.box
    assert (y2 - y1) > 1.5 * (x2 - x1)


def test_exif_orientation_is_honoured(engine):
    upright = render_lines(["Rotated by the camera"], font_size=36)
    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)  # tag 6: display needs 90 degrees clockwise
    picture = Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB))
    exif = picture.getexif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    result = engine.ocr_bytes(buffer.getvalue())
    assert (result.width, result.height) == (upright.shape[1], upright.shape[0])
    assert [line.text for line in result.text_lines] == ["Rotated by the camera"]
    assert all(line.orientation == 0 for line in result.text_lines)


def test_blank_page_is_a_success_with_no_lines(engine):
    result = engine.ocr_bytes(encode(np.full((200, 300, 3), 255, np.uint8)))
    assert result.text_lines == ()
    assert result.to_dict()["success"] is True


@pytest.mark.parametrize("data, code", [
    (b"", "bad_image"),
    (b"this is not an image at all" * 10, "bad_image"),
])
def test_bad_bytes_give_bad_image(engine, data, code):
    with pytest.raises(BadImageError):
        engine.ocr_bytes(data)
    assert engine.run(data) == {"success": False, "schema_version": 1,
                                "error": {"code": code, "message": engine.run(data)["error"]["message"]}}


def test_truncated_jpeg_is_bad_image(engine, page_png):
    jpeg = encode(render_lines(PAGE), ".jpg")
    result = engine.run(jpeg[: len(jpeg) // 2])
    assert result["success"] is False
    assert result["error"]["code"] == "bad_image"
    assert "truncated" in result["error"]["message"]


def test_too_many_pixels_is_refused(page_png):
    small_limit = Config(engine=EngineConfig(max_pixels=10_000))
    engine = Engine(small_limit)
    with pytest.raises(ImageTooLargeError, match="engine.max_pixels"):
        engine.ocr_bytes(page_png)
    assert engine.run(page_png)["error"]["code"] == "image_too_large"


def test_too_many_bytes_is_refused(page_png):
    engine = Engine(Config(engine=EngineConfig(max_bytes=1000)))
    assert engine.run(page_png)["error"]["code"] == "image_too_large"


def test_bad_options_are_bad_requests(engine, page_png):
    with pytest.raises(BadRequestError, match="unknown detector 'sideways'"):
        engine.ocr_bytes(page_png, OcrOptions(detector="sideways"))
    with pytest.raises(BadRequestError, match="beam_width"):
        engine.ocr_bytes(page_png, OcrOptions(beam_width=-1))
    assert engine.run(page_png, OcrOptions(detector="nonsense"))["error"]["code"] == "bad_request"


def test_one_engine_serves_many_threads(engine, page_png):
    expected = [line.text for line in engine.ocr_bytes(page_png).text_lines]
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(2):
                results.append([line.text for line in engine.ocr_bytes(page_png).text_lines])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert results == [expected] * 8


def test_array_input_matches_bytes_input(engine):
    image = render_lines(["Camera frame 7"])
    from_array = engine.ocr_array(image)
    assert [line.text for line in from_array.text_lines] == ["Camera frame 7"]
    assert from_array.image_format == "array"


def test_min_confidence_drops_lines(page_png):
    strict = Engine(Config(engine=dataclasses.replace(EngineConfig(), min_confidence=1.0)))
    assert strict.ocr_bytes(page_png).text_lines == ()


def test_read_lines_cleans_up_cut_out_lines_as_page_results_are(engine):
    """The benchmarks score line sets through ``read_lines``: its text must be what pages give."""
    from edgeocr.textnorm import normalise_line

    from .rendering import reserved_cjk_font, render_text_page

    crops = [render_text_page([text], reserved_cjk_font(), margin=12) for text in ["发票代码:1440319", "TOTAL: 12.50"]]
    raw = engine.recognizer.recognize(crops)
    lines = engine.read_lines(crops)
    assert [line.text for line in lines] == [normalise_line(t.text) for t in raw]
    assert "发票代码：" not in raw[0].text and lines[0].text.startswith("发票代码：")   # an ASCII colon closing a Chinese label is set full-width
    assert all(len(line.text) == len(line.char_probs) for line in lines)


def test_the_default_pack_restores_lost_spaces_at_its_calibrated_threshold(engine):
    assert engine.pack.recognizer.space_threshold == pytest.approx(0.1)   # bench/space-calibration.md
    assert engine.recognizer.primary.space_threshold == pytest.approx(0.1)


def test_read_lines_decodes_with_the_configured_beam_width():
    from edgeocr.textnorm import normalise_line

    from .rendering import reserved_cjk_font, render_text_page

    beam = Engine(Config(engine=EngineConfig(beam_width=5)))
    crops = [render_text_page(["合计:RM 12.50"], reserved_cjk_font(), margin=12)]
    expected = [normalise_line(t.text) for t in beam.recognizer.recognize(crops, beam_width=5)]
    assert [t.text for t in beam.read_lines(crops)] == expected
    assert beam.read_lines(crops)[0].frames == ()   # beam search keeps no frames: it really ran
