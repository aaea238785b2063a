from __future__ import annotations

import hashlib
import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from edgeocr.decode import decode_image
from edgeocr.errors import BadImageError, ImageTooLargeError

from .rendering import encode, render_lines


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return render_lines(["Decode me 123"])


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tiff", ".webp"])
def test_formats_decode_to_bgr8(page, ext):
    data = encode(page, ext)
    decoded = decode_image(data)
    assert decoded.pixels.shape == page.shape and decoded.pixels.dtype == np.uint8
    assert np.abs(decoded.pixels.astype(int) - page.astype(int)).mean() < 8
    assert decoded.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("data", [b"", b"GIF89a" + b"\0" * 40, b"\x00\x01garbage" * 50])
def test_not_images_are_bad_image(data):
    with pytest.raises(BadImageError) as caught:
        decode_image(data)
    assert caught.value.code == "bad_image"


def test_unsupported_format_is_named():
    buffer = io.BytesIO()
    Image.new("L", (20, 20), 255).save(buffer, "GIF")
    with pytest.raises(BadImageError, match="unsupported image format GIF"):
        decode_image(buffer.getvalue())


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_truncated_files_are_bad_image(page, ext):
    data = encode(page, ext)
    with pytest.raises(BadImageError, match="truncated"):
        decode_image(data[: len(data) // 2])


def test_pixel_limit_is_checked_before_decoding():
    buffer = io.BytesIO()
    Image.new("1", (10000, 5000), 1).save(buffer, "PNG")  # 50 MP, a few kilobytes on disk
    with pytest.raises(ImageTooLargeError, match="10000x5000") as caught:
        decode_image(buffer.getvalue(), max_pixels=40_000_000)
    assert caught.value.code == "image_too_large"


def test_byte_limit(page):
    with pytest.raises(ImageTooLargeError, match="engine.max_bytes"):
        decode_image(encode(page), max_bytes=100)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(orientation):
    picture = np.zeros((60, 90, 3), np.uint8)
    picture[:20, :30] = (0, 0, 255)
    picture[40:, 60:] = (255, 255, 255)
    image = Image.fromarray(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB))
    exif = image.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    expected = cv2.cvtColor(np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue())))), cv2.COLOR_RGB2BGR)
    decoded = decode_image(buffer.getvalue())
    assert decoded.exif_orientation == orientation
    assert decoded.pixels.shape == expected.shape
    assert np.abs(decoded.pixels.astype(int) - expected.astype(int)).mean() < 10


def test_transparent_png_is_composited_on_white():
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:30, 18:22] = (0, 0, 0, 255)  # an opaque dark stroke on a transparent (black) field
    decoded = decode_image(encode(rgba))
    assert decoded.pixels[0, 0].tolist() == [255, 255, 255]
    assert decoded.pixels[20, 20].tolist() == [0, 0, 0]


def test_sixteen_bit_and_gray_inputs():
    gray16 = np.full((30, 30), 65535, np.uint16)
    gray16[10:20, 10:20] = 0
    decoded = decode_image(encode(gray16))
    assert decoded.pixels.dtype == np.uint8 and decoded.pixels.shape == (30, 30, 3)
    assert decoded.pixels[0, 0].tolist() == [255, 255, 255] and decoded.pixels[15, 15].tolist() == [0, 0, 0]
