"""edgeocr: OCR for small machines: a text detector and our own INT8 CRNN on ONNX Runtime."""
from __future__ import annotations

import os

__version__ = "0.1.0"

# OpenCV reads its own decode limit once, at import; keep it near ours instead of its 1 Gpx default.
# (Our per-image limit, engine.max_pixels, is checked from the header before OpenCV decodes.)
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(256 * 1024 * 1024))
