"""Rendered test frames for the source tests: fixed-size pages with known text."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.rendering import encode, render_lines

WIDTH, HEIGHT = 640, 160


def page(text: str) -> np.ndarray:
    """``text`` drawn with a real font on a fixed-size canvas (video frames must share one size)."""
    ink = render_lines([text], font_size=36)
    canvas = np.full((HEIGHT, WIDTH, 3), 245, np.uint8)
    height, width = min(HEIGHT, ink.shape[0]), min(WIDTH, ink.shape[1])
    canvas[:height, :width] = ink[:height, :width]
    return canvas


def jpeg(text: str, progressive: bool = False) -> bytes:
    return encode(page(text), ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)])


def with_comment(frame: bytes, payload: bytes) -> bytes:
    """``frame`` with a COM segment holding ``payload`` right after SOI (as EXIF thumbnails sit in APP1)."""
    segment = b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload
    return frame[:2] + segment + frame[2:]


def write_video(path: Path, frames: list[np.ndarray], fps: float = 5.0) -> Path:
    """An MJPG .avi of ``frames``: what the camera tests open instead of a camera."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))
    assert writer.isOpened(), "OpenCV cannot write MJPG .avi here"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path
