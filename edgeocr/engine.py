"""The one OCR engine that the CLI, the daemon and the web API all call.

decode -> preprocess -> detect -> crop -> recognize -> CTC decode -> result. Sessions and settings
are fixed at construction; per-call choices come in as an immutable ``OcrOptions``, so one engine
is safely shared by many threads.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, fields
from typing import Any

import cv2
import numpy as np

from .config import Config
from .decode import DecodedImage, decode_image, decode_pages
from .detect import DetectedLine, Detector
from .detect.classical import ClassicalDetector, ClassicalParams
from .detect.db import DbDetector, DbParams
from .errors import BadRequestError, ConfigError, EdgeOcrError, ImageTooLargeError, ModelPackError
from .geometry import clip_quad, crop_quad, is_vertical, reading_order
from .packs import ModelPack, find_pack_dir, load_pack
from .preprocess import preprocess
from .recognize import Recognizer, RecognizerSettings
from .result import SCHEMA_VERSION, OcrResult, TextLine, error_dict, polygon_of
from .runtime import create_session


@dataclass(frozen=True)
class OcrOptions:
    """Per-call choices; ``None`` means the configured default."""

    detector: str | None = None
    beam_width: int | None = None


def _params(cls: type, settings: dict[str, Any], where: str) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = set(settings) - known
    if unknown:
        raise ModelPackError(f"{where}: unknown detector setting(s) {', '.join(sorted(unknown))}")
    return cls(**settings)


class Engine:
    def __init__(self, config: Config | None = None, recognizer_variant: str | None = None) -> None:
        self.config = config or Config()
        engine_config = self.config.engine
        self.pack: ModelPack = load_pack(find_pack_dir(engine_config.pack, engine_config.models_dir),
                                         verify=engine_config.verify_checksums)
        self.threads = engine_config.resolved_threads()
        spec = self.pack.recognizer
        self.recognizer = Recognizer(
            create_session(self.pack.recognizer_model(recognizer_variant), self.threads),
            self.pack.charset(),
            RecognizerSettings(spec.input_height, spec.max_width, spec.width_stride, spec.blank_index),
        )
        where = f"pack {self.pack.name}"
        classical_settings = self.pack.detector.settings if self.pack.detector.type == "classical" else {}
        self.detectors: dict[str, Detector] = {"classical": ClassicalDetector(_params(ClassicalParams, classical_settings, where))}
        if self.pack.detector.type == "db":
            session = create_session(self.pack.path(self.pack.detector.model), self.threads)
            settings = dict(self.pack.detector.settings)
            channels = int(settings.pop("channels", 3))
            self.detectors["db"] = DbDetector(session, _params(DbParams, settings, where), channels=channels)
        wanted = engine_config.detector
        self.default_detector = self.pack.detector.type if wanted == "auto" else wanted
        if self.default_detector not in self.detectors:
            raise ConfigError(f"{self.config.source}: engine.detector: '{wanted}' needs a pack with a {wanted} model; "
                              f"pack {self.pack.name} has {self.pack.detector.type}")

    # -- entry points -------------------------------------------------------------------------

    def ocr_bytes(self, data: bytes, options: OcrOptions = OcrOptions()) -> OcrResult:
        """Recognize an encoded image; raises ``EdgeOcrError`` subclasses for bad input."""
        started = time.perf_counter()
        decoded = decode_image(data, self.config.engine.max_pixels, self.config.engine.max_bytes)
        return self._ocr(decoded, options, {"decode": time.perf_counter() - started})

    def ocr_array(self, pixels: np.ndarray, options: OcrOptions = OcrOptions()) -> OcrResult:
        """Recognize an already decoded BGR or grayscale array (camera frames)."""
        if pixels.ndim not in (2, 3) or pixels.size == 0:
            raise BadRequestError(f"expected an image array, got shape {pixels.shape}")
        if pixels.shape[0] * pixels.shape[1] > self.config.engine.max_pixels:
            raise ImageTooLargeError(f"frame is {pixels.shape[1]}x{pixels.shape[0]}; the limit is "
                                     f"{self.config.engine.max_pixels / 1e6:.1f} MP (engine.max_pixels)")
        digest = hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()
        return self._ocr(DecodedImage(pixels, "array", digest, 1), options, {})

    def run(self, data: bytes, options: OcrOptions = OcrOptions()) -> dict[str, Any]:
        """Like ``ocr_bytes`` but always returns the JSON-ready dict, errors included."""
        try:
            return self.ocr_bytes(data, options).to_dict()
        except EdgeOcrError as exc:
            return error_dict(exc.code, exc.message)

    def ocr_pages(self, data: bytes, options: OcrOptions = OcrOptions()) -> list[OcrResult]:
        """Every page of a multi-page TIFF (one result for any other image); raises like ``ocr_bytes``."""
        results = []
        started = time.perf_counter()
        for decoded in decode_pages(data, self.config.engine.max_pixels, self.config.engine.max_bytes):
            results.append(self._ocr(decoded, options, {"decode": time.perf_counter() - started}))
            started = time.perf_counter()
        return results

    def run_document(self, data: bytes, options: OcrOptions = OcrOptions()) -> dict[str, Any]:
        """Like ``run``, but a multi-page TIFF gives ``pages: [...]`` (one result per page) and
        ``text`` with the pages joined by form feeds; errors as dicts."""
        try:
            pages = self.ocr_pages(data, options)
        except EdgeOcrError as exc:
            return error_dict(exc.code, exc.message)
        if len(pages) == 1:
            return pages[0].to_dict()
        dicts = [page.to_dict() for page in pages]
        return {"success": True, "schema_version": SCHEMA_VERSION, "pages": dicts,
                "text": "\f".join(page["text"] for page in dicts),
                "total_time": round(sum(page.total_time for page in pages), 4),
                "image": {"format": "TIFF", "pages": len(pages), "sha256": pages[0].sha256},
                "model": dicts[0]["model"]}

    # -- stages -------------------------------------------------------------------------------

    def _resolve(self, options: OcrOptions) -> tuple[Detector, int]:
        name = options.detector or self.default_detector
        if name not in self.detectors:
            raise BadRequestError(f"unknown detector '{name}'; this engine has {', '.join(sorted(self.detectors))}")
        beam = self.config.engine.beam_width if options.beam_width is None else options.beam_width
        if not 0 <= beam <= 64:
            raise BadRequestError(f"beam_width must be between 0 and 64, got {beam}")
        return self.detectors[name], beam

    def _ocr(self, decoded: DecodedImage, options: OcrOptions, timings: dict[str, float]) -> OcrResult:
        detector, beam = self._resolve(options)
        clock = time.perf_counter()
        gray = preprocess(decoded.pixels, self.config.preprocess)
        timings["preprocess"] = time.perf_counter() - clock

        clock = time.perf_counter()
        found = detector.detect(gray)
        timings["detect"] = time.perf_counter() - clock

        clock = time.perf_counter()
        lines = self._recognize(gray, found, beam)
        timings["recognize"] = time.perf_counter() - clock

        clock = time.perf_counter()
        order = reading_order([np.array(line.polygon, dtype=np.float32) for line in lines])
        ordered = tuple(lines[i] for i in order)
        timings["assemble"] = time.perf_counter() - clock
        return OcrResult(ordered, decoded.width, decoded.height, decoded.sha256, decoded.format,
                         self.pack.name, self.pack.version, detector.name, timings)

    def _recognize(self, gray: np.ndarray, found: list[DetectedLine], beam: int) -> list[TextLine]:
        height, width = gray.shape[:2]
        crops: list[np.ndarray] = []
        owners: list[tuple[int, int]] = []  # (detected line, orientation)
        for index, line in enumerate(found):
            crop = crop_quad(gray, clip_quad(line.quad, width, height))
            if crop.shape[0] < 4 or crop.shape[1] < 4:
                continue
            if is_vertical(crop):
                # Text turned either way looks alike to the detector: read both, keep the surer.
                crops.append(cv2.rotate(crop, cv2.ROTATE_90_COUNTERCLOCKWISE))
                owners.append((index, 90))
                crops.append(cv2.rotate(crop, cv2.ROTATE_90_CLOCKWISE))
                owners.append((index, 270))
            else:
                crops.append(crop)
                owners.append((index, 0))
        decoded = self.recognizer.recognize(crops, self.config.engine.batch_size, beam)
        best: dict[int, tuple[Any, int]] = {}
        for (index, orientation), text in zip(owners, decoded):
            if index not in best or text.confidence > best[index][0].confidence:
                best[index] = (text, orientation)
        results = []
        for index, (text, orientation) in best.items():
            cleaned = text.text.strip()
            if not cleaned or text.confidence < self.config.engine.min_confidence:
                continue
            results.append(TextLine(cleaned, text.confidence, polygon_of(found[index].quad),
                                    found[index].score, orientation))
        return results
