"""Decode image bytes safely: size limits before any pixel is decoded, EXIF orientation honoured.

Pillow reads only the header (lazily) to learn format, size and EXIF orientation; OpenCV decodes
the pixels. Checking dimensions first means a decompression bomb is refused without allocating it.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from .errors import BadImageError, ImageTooLargeError

# Pillow format names we hand to OpenCV; MPO is what Pillow calls many phone cameras' JPEGs.
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "TIFF", "WEBP"})

EXIF_ORIENTATION_TAG = 0x0112

# Pillow's own bomb guard refuses big images (over 2x its 89 MP default) at open, with its words
# ("decompression bomb") and its limit, before we can read the size and apply engine.max_pixels.
# Every image edgeocr opens goes through probe_header first, whose check replaces it.
Image.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class DecodedImage:
    """An 8-bit BGR image, upright, with what is known about where it came from."""

    pixels: np.ndarray
    format: str
    sha256: str
    exif_orientation: int

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int
    height: int
    exif_orientation: int


def probe_header(data: bytes) -> ImageHeader:
    """Format, size and orientation from the header alone; raises ``BadImageError``."""
    if not data:
        raise BadImageError("empty input: 0 bytes")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit applies below; Pillow's bomb warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                fmt = image.format or "unknown"
                width, height = image.size
                orientation = 1
                if fmt in ("JPEG", "MPO", "TIFF", "WEBP", "PNG"):
                    try:
                        orientation = int(image.getexif().get(EXIF_ORIENTATION_TAG, 1) or 1)
                    except Exception:  # a broken EXIF block must not cost the picture
                        orientation = 1
    except UnidentifiedImageError:
        raise BadImageError("not a recognised image format") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImageError(f"unreadable image header: {exc}") from None
    if fmt not in ALLOWED_FORMATS:
        raise BadImageError(f"unsupported image format {fmt}; accepted: JPEG, PNG, BMP, TIFF, WebP")
    if orientation not in range(1, 9):
        orientation = 1
    return ImageHeader(fmt, width, height, orientation)


def _looks_truncated(data: bytes, fmt: str) -> bool:
    # OpenCV fills a truncated JPEG or PNG with grey and returns it as if whole; the end markers
    # tell us the file was cut short (a file still being copied, a broken download).
    tail = data[-4096:]
    if fmt in ("JPEG", "MPO"):
        return b"\xff\xd9" not in tail
    if fmt == "PNG":
        return b"IEND" not in tail
    return False


def _to_bgr8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint16:
        pixels = (pixels / 257).astype(np.uint8)
    elif pixels.dtype != np.uint8:
        pixels = cv2.normalize(pixels, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if pixels.ndim == 2:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    channels = pixels.shape[2]
    if channels == 1:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    if channels == 4:
        # Transparent areas usually hold black: composite on white so dark text stays visible.
        alpha = pixels[:, :, 3:4].astype(np.float32) / 255.0
        rgb = pixels[:, :, :3].astype(np.float32)
        return (rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(pixels[:, :, :3])


def apply_exif_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip as EXIF orientation 1-8 asks, so that the picture is upright."""
    if orientation == 2:
        return cv2.flip(pixels, 1)
    if orientation == 3:
        return cv2.rotate(pixels, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(pixels, 0)
    if orientation == 5:
        return cv2.transpose(pixels)
    if orientation == 6:
        return cv2.rotate(pixels, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.flip(cv2.transpose(pixels), -1)
    if orientation == 8:
        return cv2.rotate(pixels, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return pixels


def pixel_limit_message(what: str, width: int, height: int, max_pixels: int) -> str:
    """The one wording of a pixel refusal: the size, the limit and the key that sets it."""
    return (f"{what} is {width}x{height} = {width * height / 1e6:.1f} MP; the limit is {max_pixels} pixels "
            f"({max_pixels / 1e6:.1f} MP, engine.max_pixels), checked from the header before decoding")


def byte_limit_message(size: int, max_bytes: int) -> str:
    return f"input is {size} bytes; the limit is {max_bytes} bytes (engine.max_bytes)"


def decode_image(data: bytes, max_pixels: int = 40_000_000, max_bytes: int = 50 * 1024 * 1024) -> DecodedImage:
    """Bytes to an upright 8-bit BGR image; raises ``BadImageError`` or ``ImageTooLargeError``."""
    if len(data) > max_bytes:
        raise ImageTooLargeError(byte_limit_message(len(data), max_bytes))
    header = probe_header(data)
    pixels_count = header.width * header.height
    if pixels_count > max_pixels:
        raise ImageTooLargeError(pixel_limit_message("image", header.width, header.height, max_pixels))
    if header.width < 1 or header.height < 1:
        raise BadImageError(f"image has no pixels ({header.width}x{header.height})")
    if _looks_truncated(data, header.format):
        raise BadImageError(f"truncated {header.format} image: the end of the file is missing")
    buffer = np.frombuffer(data, dtype=np.uint8)
    pixels = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if pixels is None or pixels.size == 0:
        raise BadImageError(f"{header.format} image could not be decoded (corrupt data)")
    pixels = _to_bgr8(pixels)
    if header.format != "TIFF":
        # OpenCV's TIFF reader applies the Orientation tag itself, IMREAD_IGNORE_ORIENTATION or not.
        pixels = apply_exif_orientation(pixels, header.exif_orientation)
    return DecodedImage(pixels, header.format, hashlib.sha256(data).hexdigest(), header.exif_orientation)


def page_count(data: bytes) -> int:
    """Frames in a multi-page TIFF (1 for every other accepted image); raises like ``probe_header``."""
    probe_header(data)
    with Image.open(io.BytesIO(data)) as image:
        if image.format != "TIFF":
            return 1
        return int(getattr(image, "n_frames", 1))


def decode_pages(data: bytes, max_pixels: int = 40_000_000, max_bytes: int = 50 * 1024 * 1024,
                 ) -> Iterator[DecodedImage]:
    """Every page of a multi-page TIFF, one at a time (so memory holds one page); else one image.

    Each page is checked against ``max_pixels`` from its own header before its pixels are read.
    """
    if len(data) > max_bytes:
        raise ImageTooLargeError(byte_limit_message(len(data), max_bytes))
    if page_count(data) == 1:
        yield decode_image(data, max_pixels, max_bytes)
        return
    digest = hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(data)) as image:
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            width, height = frame.size
            if width * height > max_pixels:
                raise ImageTooLargeError(pixel_limit_message(f"page {index + 1}", width, height, max_pixels))
            try:
                rgb = np.asarray(frame.convert("RGB"))
            except (OSError, ValueError) as exc:
                raise BadImageError(f"TIFF page {index + 1} could not be decoded: {exc}") from None
            yield DecodedImage(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), "TIFF", digest, 1)
