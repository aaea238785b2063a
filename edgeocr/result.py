"""The result every entry point returns: lines with text, confidence, box and polygon, as JSON."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float
    polygon: tuple[tuple[int, int], ...]
    detection_score: float
    orientation: int = 0  # counter-clockwise degrees the crop was turned before recognition
    direction: str = "horizontal"  # which way the text runs on the input image (or "square")
    recognizer: str = ""  # the pack whose recognizer read it (two with engine.fast_path)

    @property
    def box(self) -> tuple[int, int, int, int]:
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return min(xs), min(ys), max(xs), max(ys)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "box": list(self.box),
            "polygon": [list(p) for p in self.polygon],
            "detection_score": round(self.detection_score, 4),
            "orientation": self.orientation,
            "direction": self.direction,
            "recognizer": self.recognizer,
        }


@dataclass(frozen=True)
class OcrResult:
    text_lines: tuple[TextLine, ...]
    width: int
    height: int
    sha256: str
    image_format: str
    model_name: str
    model_version: str
    detector: str
    timings: dict[str, float] = field(default_factory=dict)
    # The text of each visual row in reading order (a row's boxes joined); None: one per line.
    rows: tuple[str, ...] | None = None
    orientation: int = 0            # counter-clockwise degrees the page was turned to read it
    scripts: tuple[str, ...] = ()   # the scripts the pack can read
    fast_path: str | None = None    # the fast pack reading first (engine.fast_path), if any

    @property
    def text(self) -> str:
        if self.rows is not None:
            return "\n".join(self.rows)
        return "\n".join(line.text for line in self.text_lines)

    @property
    def total_time(self) -> float:
        return sum(self.timings.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": True,
            "schema_version": SCHEMA_VERSION,
            "text_lines": [line.to_dict() for line in self.text_lines],
            "text": self.text,
            "total_time": round(self.total_time, 4),
            "image": {"width": self.width, "height": self.height, "sha256": self.sha256, "format": self.image_format},
            "orientation": self.orientation,
            "model": {"name": self.model_name, "version": self.model_version, "detector": self.detector},
            "engine": {"scripts": list(self.scripts), "fast_path": self.fast_path},
            "timings": {stage: round(seconds, 4) for stage, seconds in self.timings.items()},
        }


def error_dict(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "schema_version": SCHEMA_VERSION, "error": {"code": code, "message": message}}


def polygon_of(quad: np.ndarray) -> tuple[tuple[int, int], ...]:
    return tuple((int(round(float(x))), int(round(float(y)))) for x, y in quad)
