"""The one OCR engine that the CLI, the daemon and the web API all call.

decode -> preprocess -> detect -> crop -> recognize -> CTC decode -> result. Sessions and settings
are fixed at construction; per-call choices come in as an immutable ``OcrOptions``, so one engine
is safely shared by many threads.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .config import Config
from .ctc import DecodedText
from .decode import DecodedImage, decode_image, decode_pages
from .assemble import join_row, reading_rows
from .detect import Detector
from .errors import BadRequestError, ConfigError, EdgeOcrError, ImageTooLargeError
from .pdf_document import ocr_pdf
from .pdf_input import is_pdf
from .packs import ModelPack, find_pack_dir, load_pack
from .preprocess import preprocess
from .read import PageReading, read_page
from .registry import build_classifier, build_detectors, build_fast_path, build_recognizer
from .result import SCHEMA_VERSION, OcrResult, TextLine, error_dict, polygon_of
from .textnorm import normalise_line


@dataclass(frozen=True)
class OcrOptions:
    """Per-call choices; ``None`` means the configured default."""

    detector: str | None = None
    beam_width: int | None = None


class Engine:
    def __init__(self, config: Config | None = None, recognizer_variant: str | None = None,
                 detector_variant: str | None = None, classifier_variant: str | None = None) -> None:
        self.config = config or Config()
        engine_config = self.config.engine
        self.pack: ModelPack = load_pack(find_pack_dir(engine_config.pack, engine_config.models_dir),
                                         verify=engine_config.verify_checksums)
        self.threads = engine_config.resolved_threads()
        self.recognizer = build_recognizer(self.pack, self.threads, recognizer_variant, engine_config.batch_size)
        self.fast_pack: ModelPack | None = None
        if engine_config.fast_path:
            self.fast_pack = load_pack(find_pack_dir(engine_config.fast_path_pack, engine_config.models_dir),
                                       verify=engine_config.verify_checksums)
            self.recognizer = build_fast_path(self.fast_pack, self.recognizer, self.threads,
                                              engine_config.fast_path_threshold, engine_config.batch_size)
        self.detectors: dict[str, Detector] = build_detectors(self.pack, self.threads, detector_variant)
        self.classifier = build_classifier(self.pack, self.threads, classifier_variant) if engine_config.orientation else None
        # Colour pages stay colour where the pack's networks take three channels.
        db_spec = self.pack.detector.input
        self.colour = self.pack.recognizer.input.channels == 3 or (db_spec is not None and db_spec.channels == 3)
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

    def read_lines(self, crops: list[np.ndarray]) -> list[DecodedText]:
        """Text of line images that are already cut out (no detection, no orientation), cleaned
        up as the lines of a result are: what the benchmarks score recognition by."""
        texts = self.recognizer.recognize(crops, beam_width=self.config.engine.beam_width)
        return [replace(text, text=normalise_line(text.text)) for text in texts]

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
            if is_pdf(data):
                return ocr_pdf(self, data, options)
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

    def ocr_decoded(self, decoded: DecodedImage, options: OcrOptions = OcrOptions(),
                    timings: dict[str, float] | None = None) -> OcrResult:
        """Recognize a page decoded elsewhere (a rendered PDF page); ``timings`` seeds the result's."""
        return self._ocr(decoded, options, dict(timings or {}))

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
        page = preprocess(decoded.pixels, self.config.preprocess, colour=self.colour)
        timings["preprocess"] = time.perf_counter() - clock

        clock = time.perf_counter()
        found = detector.detect(page)
        timings["detect"] = time.perf_counter() - clock

        clock = time.perf_counter()
        reading = read_page(page, found, self.recognizer, self.classifier, beam, self.config.engine.split_gap)
        timings["recognize"] = time.perf_counter() - clock

        clock = time.perf_counter()
        lines, rows = self._assemble(reading, found)
        timings["assemble"] = time.perf_counter() - clock
        return OcrResult(lines, decoded.width, decoded.height, decoded.sha256, decoded.format,
                         self.pack.name, self.pack.version, detector.name, timings, rows=rows,
                         orientation=reading.angle, scripts=self.pack.scripts,
                         fast_path=self.fast_pack.name if self.fast_pack else None)

    def _assemble(self, reading: PageReading, found: list) -> tuple[tuple[TextLine, ...], tuple[str, ...]]:
        """Lines in reading order, and the text of each visual row (its boxes joined)."""
        kept = [line for line in reading.lines
                if line.text.text.strip() and line.text.confidence >= self.config.engine.min_confidence]
        rows = reading_rows([line.upright_quad for line in kept])
        ordered: list[TextLine] = []
        row_texts: list[str] = []
        for row in rows:
            cells = [kept[i] for i in row]
            texts = [normalise_line(cell.text.text.strip()) for cell in cells]
            row_texts.append(join_row(texts, [cell.upright_quad for cell in cells]))
            for cell, text in zip(cells, texts):
                ordered.append(TextLine(text, cell.text.confidence, polygon_of(cell.quad),
                                        found[cell.index].score, cell.angle, cell.direction, cell.text.reader))
        return tuple(ordered), tuple(row_texts)
