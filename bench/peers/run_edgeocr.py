"""Compare runner for edgeocr itself: the installed project, through ``edgeocr.engine.Engine``.

Pages go through the whole engine (``ocr_bytes``: decode to result). Single-line images go
straight to the recognizer (``Engine.read_lines``), as RapidOCR's ``use_det=False`` and
Tesseract's ``--psm 7`` do: the line is already found, only reading it is measured.

Options (the job's ``options``): ``pack``, ``models_dir``, ``variant`` (recognizer variant, e.g.
``fp32``), ``line_runs`` (how often to time one 32x320 line for the distance-to-the-limit figure;
0 skips it).
"""
from __future__ import annotations

import dataclasses
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parents[2]))  # the checkout, for bench.linetiming (last: edgeocr stays the installed one)
import protocol  # noqa: E402
from bench.linetiming import time_recognizer  # noqa: E402


def yardstick_line(height: int = 32, width: int = 320):
    """A 32x320 line of about 20 characters, drawn without any font file."""
    import cv2
    import numpy as np

    line = np.full((height, width), 245, np.uint8)
    cv2.putText(line, "Invoice 2024-0117 $12", (4, height - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.62, 20, 1, cv2.LINE_AA)
    return line


def time_lines(recognizer, runs: int) -> dict:
    """Seconds for one 32x320 line alone and per line in a batch of 16, after a warm-up each."""
    line = yardstick_line(recognizer.spec.height)
    single, batched = time_recognizer(recognizer, line, runs, 16, max(3, runs // 8))
    return {"line_320_seconds": statistics.median(single), "line_320_batched_seconds": statistics.median(batched) / 16,
            "line_320_runs": runs}


def start(job: dict):
    import cv2
    import onnxruntime

    import edgeocr
    from edgeocr.config import Config, EngineConfig
    from edgeocr.engine import Engine

    options = job.get("options", {})
    settings = {key: options[key] for key in ("pack", "models_dir") if options.get(key)}
    config = Config(engine=dataclasses.replace(EngineConfig(**settings), threads=int(job["threads"])))
    engine = Engine(config, options.get("variant"))
    pack = engine.pack
    model_files = [pack.recognizer_model(options.get("variant")), pack.path(pack.recognizer.charset)]
    if pack.detector.model:
        model_files.append(pack.detector_model())
    if pack.classifier is not None:
        model_files.append(pack.classifier_model())

    def read(item: dict) -> list:
        if item["kind"] == "line":
            gray = cv2.imread(item["path"], cv2.IMREAD_GRAYSCALE)
            if gray is None:
                raise ValueError(f"{item['path']}: not an image")
            text = engine.read_lines([gray])[0].text.strip()
            return [{"text": text, "box": [0, 0, gray.shape[1], gray.shape[0]]}] if text else []
        result = engine.ocr_bytes(Path(item["path"]).read_bytes())
        return [{"text": line.text, "box": protocol.box_of(line.polygon)} for line in result.text_lines]

    line_runs = int(options.get("line_runs", 0))
    info = {
        "engine": f"edgeocr {getattr(edgeocr, '__version__', '')}".strip(),
        "pack": f"{pack.name} {pack.version}", "recognizer_model": str(model_files[0]),
        "detector": engine.default_detector, "onnxruntime": onnxruntime.__version__,
        "threads_set": engine.threads,
        "model_files": {str(path): path.stat().st_size for path in model_files},
        "finish": (lambda: time_lines(engine.recognizer, line_runs)) if line_runs > 0 else None,
    }
    return read, info


if __name__ == "__main__":
    raise SystemExit(protocol.run(start))
