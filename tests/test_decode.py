"""Image decoding: formats, refusals before decoding, EXIF orientation, alpha and bit depth."""
from __future__ import annotations

import hashlib
import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

import edgeocr.decode
from edgeocr.decode import decode_image, probe_header
from edgeocr.errors import BadImageError, ImageTooLargeError

from .rendering import encode, render_lines


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return render_lines(["Decode me 123"], font_size=24)


def bad_image(data: bytes, **limits) -> BadImageError:
    with pytest.raises(BadImageError) as caught:
        decode_image(data, **limits)
    assert caught.value.code == "bad_image"
    assert caught.value.to_dict()["code"] == "bad_image"
    return caught.value


def asymmetric_picture() -> np.ndarray:
    """A BGR picture that looks different under every flip and rotation."""
    picture = np.full((60, 90, 3), 40, np.uint8)
    picture[:20, :30] = (0, 0, 255)        # red block top-left
    picture[40:, 60:] = (255, 255, 255)    # white block bottom-right
    picture[:10, 60:] = (255, 0, 0)        # blue strip top-right
    return picture


def pil_bytes(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def pillow_upright_bgr(data: bytes) -> np.ndarray:
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    return cv2.cvtColor(np.asarray(upright), cv2.COLOR_RGB2BGR)


# --- formats --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext, fmt, tolerance", [
    (".png", "PNG", 0.0),
    (".jpg", "JPEG", 6.0),
    (".bmp", "BMP", 0.0),
    (".tiff", "TIFF", 0.0),
    (".webp", "WEBP", 6.0),
])
def test_formats_decode_to_bgr8_of_the_right_size(page, ext, fmt, tolerance):
    coloured = page.copy()
    coloured[:10, :40] = (255, 0, 0)  # a blue corner: channel order must survive
    data = encode(coloured, ext)
    decoded = decode_image(data)
    assert decoded.format == fmt
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.shape == coloured.shape
    assert (decoded.width, decoded.height) == (coloured.shape[1], coloured.shape[0])
    assert np.abs(decoded.pixels.astype(int) - coloured.astype(int)).mean() <= tolerance
    blue = decoded.pixels[2:8, 5:35].reshape(-1, 3).mean(axis=0)
    assert blue[0] > 200 and blue[2] < 60
    assert decoded.exif_orientation == 1


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp"])
def test_sha256_is_of_the_input_bytes(page, ext):
    data = encode(page, ext)
    assert decode_image(data).sha256 == hashlib.sha256(data).hexdigest()


def test_different_inputs_have_different_hashes(page):
    assert decode_image(encode(page, ".png")).sha256 != decode_image(encode(255 - page, ".png")).sha256


# --- bad input ------------------------------------------------------------------------------------


def test_empty_bytes_are_bad_image():
    assert "empty" in bad_image(b"").message


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_bytes_are_bad_image(seed):
    data = np.random.default_rng(seed).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    bad_image(data)


def test_text_is_bad_image():
    bad_image(b"This is not an image, just a line of text.\n" * 20)


def test_truncated_jpeg_is_bad_image(page):
    data = encode(page, ".jpg")
    bad_image(data[: len(data) // 2])


def test_truncated_png_is_bad_image(page):
    data = encode(page, ".png")
    bad_image(data[: len(data) // 2])


def test_header_only_png_is_bad_image(page):
    data = encode(page, ".png")
    bad_image(data[:40])


def test_gif_is_refused_as_unsupported():
    image = Image.new("L", (40, 20), 255)
    ImageDraw.Draw(image).rectangle([5, 5, 30, 15], fill=0)
    error = bad_image(pil_bytes(image, "GIF"))
    assert "unsupported image format GIF" in error.message


# --- limits ---------------------------------------------------------------------------------------


def test_too_many_pixels_is_refused_without_decoding(monkeypatch):
    data = pil_bytes(Image.new("1", (10000, 5000), 1), "PNG")  # 50 MP in a few kilobytes
    assert len(data) < 100_000

    def must_not_decode(*args, **kwargs):
        raise AssertionError("pixels were decoded before the size check")

    monkeypatch.setattr(edgeocr.decode.cv2, "imdecode", must_not_decode)
    with pytest.raises(ImageTooLargeError) as caught:
        decode_image(data, max_pixels=40_000_000)
    assert caught.value.code == "image_too_large"
    assert "10000x5000" in caught.value.message
    assert "engine.max_pixels" in caught.value.message


def test_pixel_limit_is_inclusive(page):
    data = encode(page, ".png")
    height, width = page.shape[:2]
    assert decode_image(data, max_pixels=width * height).pixels.shape == page.shape
    with pytest.raises(ImageTooLargeError):
        decode_image(data, max_pixels=width * height - 1)


def test_byte_limit(page):
    data = encode(page, ".png")
    with pytest.raises(ImageTooLargeError) as caught:
        decode_image(data, max_bytes=len(data) - 1)
    assert caught.value.code == "image_too_large"
    assert "engine.max_bytes" in caught.value.message
    assert decode_image(data, max_bytes=len(data)).pixels.shape == page.shape


def test_probe_header_reads_only_the_header():
    data = pil_bytes(Image.new("1", (10000, 5000), 1), "PNG")
    header = probe_header(data)
    assert (header.format, header.width, header.height, header.exif_orientation) == ("PNG", 10000, 5000, 1)


# --- EXIF orientation -----------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_matches_pillow(orientation):
    image = Image.fromarray(cv2.cvtColor(asymmetric_picture(), cv2.COLOR_BGR2RGB))
    exif = image.getexif()
    exif[0x0112] = orientation
    data = pil_bytes(image, "JPEG", quality=95, exif=exif.tobytes())
    expected = pillow_upright_bgr(data)
    decoded = decode_image(data)
    assert decoded.exif_orientation == orientation
    assert decoded.pixels.shape == expected.shape
    assert np.abs(decoded.pixels.astype(int) - expected.astype(int)).mean() < 10
    # The orientation really changed something: only 1 leaves the stored picture as it was.
    stored = asymmetric_picture()
    unchanged = decoded.pixels.shape == stored.shape and np.abs(decoded.pixels.astype(int) - stored).mean() < 10
    assert unchanged == (orientation == 1)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_png_exif_orientation_matches_pillow(orientation):
    image = Image.fromarray(cv2.cvtColor(asymmetric_picture(), cv2.COLOR_BGR2RGB))
    exif = image.getexif()
    exif[0x0112] = orientation
    data = pil_bytes(image, "PNG", exif=exif.tobytes())
    decoded = decode_image(data)
    assert decoded.exif_orientation == orientation
    assert np.array_equal(decoded.pixels, pillow_upright_bgr(data))


@pytest.mark.parametrize("orientation", [
    1,
    *range(2, 9),
])
def test_tiff_orientation_matches_pillow(orientation):
    image = Image.fromarray(cv2.cvtColor(asymmetric_picture(), cv2.COLOR_BGR2RGB))
    exif = image.getexif()
    exif[0x0112] = orientation
    data = pil_bytes(image, "TIFF", exif=exif.tobytes())
    expected = pillow_upright_bgr(data)
    decoded = decode_image(data)
    assert decoded.pixels.shape == expected.shape
    assert np.array_equal(decoded.pixels, expected)


def test_out_of_range_orientation_is_ignored():
    image = Image.fromarray(cv2.cvtColor(asymmetric_picture(), cv2.COLOR_BGR2RGB))
    exif = image.getexif()
    exif[0x0112] = 42
    data = pil_bytes(image, "JPEG", quality=95, exif=exif.tobytes())
    decoded = decode_image(data)
    assert decoded.exif_orientation == 1
    assert np.abs(decoded.pixels.astype(int) - asymmetric_picture()).mean() < 10


# --- alpha, bit depth, grey -----------------------------------------------------------------------


def test_transparent_png_with_dark_text_is_composited_on_white():
    rgba = np.zeros((60, 200, 4), np.uint8)  # fully transparent, and black underneath
    text = cv2.putText(np.zeros((60, 200), np.uint8), "Text 42", (10, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 255, 3)
    rgba[text > 0] = (20, 20, 20, 255)       # opaque dark ink
    decoded = decode_image(encode(rgba, ".png"))
    pixels = decoded.pixels
    assert pixels.shape == (60, 200, 3)
    background = pixels[text == 0]
    ink = pixels[text > 0]
    assert background.min() == 255                       # the transparent field is white, not black
    assert ink.max() <= 20 and ink.mean() == pytest.approx(20, abs=0.5)


def test_half_transparent_ink_is_blended_with_white():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:, :] = (0, 0, 0, 128)
    pixel = decode_image(encode(rgba, ".png")).pixels[5, 5]
    assert pixel.tolist() == pytest.approx([127, 127, 127], abs=1)


def test_grey_with_alpha_and_palette_transparency_are_composited():
    la = Image.new("LA", (60, 40), (0, 0))
    ImageDraw.Draw(la).rectangle([20, 10, 40, 30], fill=(10, 255))
    decoded = decode_image(pil_bytes(la, "PNG"))
    assert decoded.pixels.shape == (40, 60, 3)
    assert decoded.pixels[0, 0].tolist() == [255, 255, 255] and decoded.pixels[20, 30].tolist() == [10, 10, 10]

    palette = Image.new("P", (60, 40), 0)
    palette.putpalette([0, 0, 0, 10, 10, 10] + [0] * 762)
    ImageDraw.Draw(palette).rectangle([20, 10, 40, 30], fill=1)
    decoded = decode_image(pil_bytes(palette, "PNG", transparency=0))
    assert decoded.pixels[0, 0].tolist() == [255, 255, 255] and decoded.pixels[20, 30].tolist() == [10, 10, 10]


def test_sixteen_bit_grey_png_becomes_8_bit_bgr():
    gray16 = np.full((30, 40), 65535, np.uint16)
    gray16[10:20, 10:20] = 0
    gray16[0:5, 30:40] = 32896  # 128 * 257
    decoded = decode_image(encode(gray16, ".png"))
    assert decoded.pixels.dtype == np.uint8 and decoded.pixels.shape == (30, 40, 3)
    assert decoded.pixels[0, 0].tolist() == [255, 255, 255]
    assert decoded.pixels[15, 15].tolist() == [0, 0, 0]
    assert decoded.pixels[2, 35].tolist() == [128, 128, 128]


def test_sixteen_bit_colour_png_becomes_8_bit_bgr():
    bgr16 = np.zeros((20, 20, 3), np.uint16)
    bgr16[:, :] = (65535, 0, 32896)  # blue full, red half
    decoded = decode_image(encode(bgr16, ".png"))
    assert decoded.pixels.dtype == np.uint8 and decoded.pixels.shape == (20, 20, 3)
    assert decoded.pixels[10, 10].tolist() == [255, 0, 128]


def test_grey_png_becomes_three_equal_channels(page):
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    decoded = decode_image(encode(gray, ".png"))
    assert decoded.pixels.shape == (*gray.shape, 3) and decoded.pixels.dtype == np.uint8
    for channel in range(3):
        assert np.array_equal(decoded.pixels[:, :, channel], gray)


def test_grey_jpeg_becomes_bgr(page):
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    decoded = decode_image(encode(gray, ".jpg"))
    assert decoded.pixels.shape == (*gray.shape, 3)
    assert np.abs(decoded.pixels[:, :, 1].astype(int) - gray).mean() < 6
