"""Export the DB detector to ONNX (dynamic batch, height and width) and quantize it to INT8.

INT8 is the recognizer's recipe for its convolutions (static QDQ, per-channel weights, percentile
calibration, ``reduce_range`` for x86 without VNNI) applied to a network that is all convolutions;
``export.quantize_int8`` itself is built around line calibration and the LSTM step, so the few
calls are made here. Calibration uses rendered training pages resized as the engine resizes them. Whether INT8 ships is measured, not assumed: ``compare_variants`` scores both files
through the engine's ``DbDetector`` on held-out rendered pages.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import onnx
import torch

from ..detect.db import DbDetector, DbParams, resize_for_db
from ..evaluation import DetectionCounts
from ..runtime import create_session
from .detector_data import normalise
from .detector_model import INPUT_SPEC, DbForExport, DbNet

INPUT_NAME = "images"
OUTPUT_NAME = "prob"
OPSET = 17


def export_onnx(model: DbNet, path: Path) -> Path:
    # The wrapper must be in eval mode too: the exporter restores the wrapper's mode afterwards,
    # and a wrapper left in training mode would switch the caller's model back to training.
    wrapper = DbForExport(model).eval()
    dummy = torch.randn(1, 1, 320, 256)
    torch.onnx.export(
        wrapper, (dummy,), str(path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch", 2: "height", 3: "width"}, OUTPUT_NAME: {0: "batch", 2: "height", 3: "width"}},
        opset_version=OPSET, do_constant_folding=True, dynamo=False,
    )
    onnx.checker.check_model(str(path))
    return path


CALIBRATION_SIDE = 640


class PageCalibration:
    """Rendered pages, resized like the engine does, then padded to one square shape.

    The histogram calibrators keep one histogram per tensor, which needs one shape per sample.
    """

    def __init__(self, pages: list[np.ndarray], side: int = CALIBRATION_SIDE) -> None:
        params = DbParams(limit_side=side)
        self._inputs = []
        for gray in pages:
            resized, _, _ = resize_for_db(gray, params)
            padded = np.full((side, side), int(np.median(resized)), np.uint8)
            padded[: resized.shape[0], : resized.shape[1]] = resized[:side, :side]
            self._inputs.append(normalise(padded)[None, None])
        self._iter: Iterator[np.ndarray] | None = None

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._iter is None:
            self._iter = iter(self._inputs)
        tensor = next(self._iter, None)
        return None if tensor is None else {INPUT_NAME: tensor}

    def rewind(self) -> None:
        self._iter = None


def quantize(fp32_path: Path, int8_path: Path, pages: list[np.ndarray], side: int = CALIBRATION_SIDE,
             reduce_range: bool = True) -> Path:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=False)
        quantize_static(
            str(prepared), str(int8_path), PageCalibration(pages, side), quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["Conv", "ConvTranspose"], per_channel=True, reduce_range=reduce_range,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile, extra_options={"CalibPercentile": 99.99},
        )
    onnx.checker.check_model(str(int8_path))
    return int8_path


def onnx_detector(path: Path, params: DbParams, threads: int = 1) -> DbDetector:
    """The engine's own detector class on an exported file, with the training normalisation."""
    return DbDetector(create_session(path, threads), params, INPUT_SPEC)


def score(detector: DbDetector, pages: list) -> DetectionCounts:
    counts = DetectionCounts()
    for page in pages:
        counts.add([line.quad for line in detector.detect(page.image)], list(page.quads))
    return counts


def compare_variants(paths: dict[str, Path], pages: list, params: DbParams) -> dict[str, dict[str, float]]:
    """Detection P/R/H-mean of each exported file on the same pages."""
    results = {}
    for name, path in paths.items():
        counts = score(onnx_detector(path, params), pages)
        results[name] = {"precision": counts.precision, "recall": counts.recall, "hmean": counts.hmean}
    return results
