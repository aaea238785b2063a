"""Export a trained CRNN to ONNX (dynamic batch and width) and quantize it to INT8.

INT8 follows ONNX Runtime's advice for this kind of model: static QDQ with per-channel weights
for the convolutions and the output layer, calibrated on rendered lines; the BiLSTM quantized
dynamically (static QDQ does not cover LSTM). ``reduce_range`` keeps U8S8 products from
saturating on x86 CPUs without VNNI.
"""
from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import onnx
import torch

from ..inputspec import to_batch
from ..packs import family_input
from .model import Crnn, CrnnForExport

INPUT_NAME = "images"
OUTPUT_NAME = "probs"
OPSET = 17


def export_onnx(model: Crnn, path: Path) -> Path:
    model.eval()
    height = model.shape.height
    dummy = torch.randn(2, 1, height, 160)
    torch.onnx.export(
        CrnnForExport(model), (dummy,), str(path),
        input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch", 3: "width"}, OUTPUT_NAME: {0: "batch", 1: "steps"}},
        opset_version=OPSET, do_constant_folding=True, dynamo=False,
    )
    onnx.checker.check_model(str(path))
    return path


CALIBRATION_WIDTH = 320


def _pad_to_width(image: np.ndarray, width: int) -> np.ndarray:
    if image.shape[1] >= width:
        return image[:, :width]
    return np.pad(image, ((0, 0), (0, width - image.shape[1])), mode="edge")


class LineCalibration:
    """Feeds rendered, degraded lines to the calibrator one at a time, padded as the engine pads.

    The histogram calibrators need one shape for every sample, hence a fixed width.
    """

    def __init__(self, lines: list[np.ndarray]) -> None:
        self._lines = [_pad_to_width(line, CALIBRATION_WIDTH) for line in lines]
        self._iter: Iterator[np.ndarray] | None = None

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._iter is None:
            self._iter = iter(self._lines)
        image = next(self._iter, None)
        if image is None:
            return None
        return {INPUT_NAME: to_batch([image], family_input("crnn-ctc", height=image.shape[0], width_multiple=1))}

    def rewind(self) -> None:
        self._iter = None


HEAD_MODES = ("static", "dynamic", "fp32")


def quantize_int8(fp32_path: Path, int8_path: Path, calibration_lines: list[np.ndarray], reduce_range: bool = True,
                  quantize_lstm: bool = True, head: str = "static") -> Path:
    """Convolutions always static QDQ per channel; the output layer (MatMul/Gemm) as ``head`` says.

    ``head="static"`` calibrates the output layer with the convolutions, ``"dynamic"`` quantizes
    its activations at run time (no calibration error on the LSTM's outputs), ``"fp32"`` leaves
    it alone: with thousands of classes it is the largest layer, so measure which trade-off wins.
    """
    if head not in HEAD_MODES:
        raise ValueError(f"head must be one of {HEAD_MODES}")
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=False)
        static_path = Path(tmp) / "static.onnx"
        quantize_static(
            str(prepared), str(static_path), LineCalibration(calibration_lines),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["Conv", "MatMul", "Gemm"] if head == "static" else ["Conv"],
            per_channel=True, reduce_range=reduce_range,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": 99.99},
        )
        dynamic_ops = (["LSTM"] if quantize_lstm else []) + (["MatMul", "Gemm"] if head == "dynamic" else [])
        if dynamic_ops:
            quantize_dynamic(str(static_path), str(int8_path), op_types_to_quantize=dynamic_ops,
                             weight_type=QuantType.QInt8, reduce_range=reduce_range)
        else:
            int8_path.write_bytes(static_path.read_bytes())
    onnx.checker.check_model(str(int8_path))
    return int8_path


def render_calibration_lines(count: int, seed: int, charset: list[str], fonts: list[Path], sample_text, height: int) -> list[np.ndarray]:
    from .fonts import refuse_reserved_fonts
    from .render import Degradation, font_covers, render_line

    refuse_reserved_fonts(fonts)  # calibration is tuning: the evaluation fonts stay unseen
    lines = []
    for index in range(count):
        rng = random.Random(f"calibration:{seed}:{index}")
        text = sample_text(rng, charset)
        font = rng.choice(fonts)
        if not font_covers(font, text):  # Latin fonts cannot draw hanzi lines; boxes would skew the ranges
            font = rng.choice([f for f in fonts if font_covers(f, text)] or [font])
        lines.append(render_line(text, font, rng, height, Degradation(rng.uniform(0.0, 1.0))))
    return lines
