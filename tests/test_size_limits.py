"""Size refusals speak our words: they quote engine.max_pixels / engine.max_bytes, decided from the header."""
from __future__ import annotations

import struct
import zlib

import pytest
import requests

import edgeocr.decode
from edgeocr.decode import decode_image, decode_pages, probe_header
from edgeocr.errors import ImageTooLargeError
from tests.web.conftest import server, url  # noqa: F401 - server is a fixture


def header_only_png(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` (1-bit grey) and holds almost no pixel data: what a
    decompression bomb looks like to a header reader, in a few dozen bytes."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def test_a_400_megapixel_image_is_refused_in_our_words_before_decoding(monkeypatch):
    data = header_only_png(20_000, 20_000)  # 400 MP: past Pillow's own bomb limit (2 x 89 MP)

    def must_not_decode(*args, **kwargs):
        raise AssertionError("pixels were decoded before the size check")

    monkeypatch.setattr(edgeocr.decode.cv2, "imdecode", must_not_decode)
    for decode in (decode_image, lambda d, limit: next(decode_pages(d, limit))):
        with pytest.raises(ImageTooLargeError) as caught:
            decode(data, 40_000_000)
        message = caught.value.message
        assert "engine.max_pixels" in message and "40000000" in message and "20000x20000" in message
        assert "decompression" not in message.lower() and "bomb" not in message.lower()


def test_a_pixel_limit_above_pillows_own_is_ours_to_set():
    # engine.max_pixels of 500 MP: a 200 MP header must read as 200 MP, not be refused by Pillow.
    header = probe_header(header_only_png(20_000, 10_000))
    assert (header.width, header.height) == (20_000, 10_000)


def test_the_byte_limit_names_its_key_and_number():
    with pytest.raises(ImageTooLargeError) as caught:
        decode_image(header_only_png(10, 10), max_bytes=20)
    assert "engine.max_bytes" in caught.value.message and "20 bytes" in caught.value.message


def test_the_web_answer_for_a_huge_image_quotes_engine_max_pixels(server):
    answer = requests.post(url(server, "/ocr"), data=header_only_png(20_000, 20_000),
                           headers={"Content-Type": "image/png"}, timeout=30)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "image_too_large"
    assert "engine.max_pixels" in error["message"] and "bomb" not in error["message"].lower()
