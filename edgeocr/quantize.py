"""INT8 copies of a pack's ONNX models: static QDQ (calibrated) and dynamic MatMul-only.

Used at pack-build time only (it needs the ``onnx`` package from the ``[train]`` extra). Which
copy ships is decided by measurement (``bench/eval_int8.py``), never assumed: on these CPUs a
quantized graph can be slower than its float original.

Static QDQ here means: per-channel int8 weights, uint8 activations (U8S8, the pairing ONNX
Runtime's x86 and Arm kernels are fastest at), percentile calibration on inputs rendered by our
own code, and any node names in ``exclude`` left in float (the ones that lose accuracy).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

# Per-channel QDQ needs opset 13 (axis on QuantizeLinear/DequantizeLinear).
MIN_OPSET = 13


class TensorFeed:
    """A calibration reader over prepared input tensors, one ``{input name: tensor}`` at a time."""

    def __init__(self, input_name: str, tensors: Iterable[np.ndarray]) -> None:
        self.input_name = input_name
        self._tensors = [np.ascontiguousarray(t, dtype=np.float32) for t in tensors]
        self._iter: Iterator[np.ndarray] | None = None

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._iter is None:
            self._iter = iter(self._tensors)
        tensor = next(self._iter, None)
        return None if tensor is None else {self.input_name: tensor}

    def rewind(self) -> None:
        self._iter = None


def _prepare(fp32_path: Path, folder: Path) -> Path:
    """Shape-inferred, optimised copy at opset >= 13 (what per-channel static quantization needs)."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = onnx.load(str(fp32_path))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), MIN_OPSET)
    source = fp32_path
    if opset < MIN_OPSET:
        converted = version_converter.convert_version(model, MIN_OPSET)
        source = folder / "opset.onnx"
        onnx.save(converted, str(source))
    prepared = folder / "prepared.onnx"
    # Symbolic shape inference fails on the PP-OCR graphs; ONNX's own inference is enough here.
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    return prepared


def quantize_static_qdq(fp32_path: Path, out_path: Path, input_name: str, tensors: Sequence[np.ndarray],
                        exclude: Sequence[str] = (), op_types: Sequence[str] | None = None,
                        percentile: float = 99.99) -> Path:
    """Static QDQ INT8 (U8S8, per-channel) calibrated on ``tensors``; ``exclude`` stays float."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    with tempfile.TemporaryDirectory() as tmp:
        prepared = _prepare(Path(fp32_path), Path(tmp))
        quantize_static(
            str(prepared), str(out_path), TensorFeed(input_name, tensors), quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(op_types) if op_types else None, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=list(exclude),
            calibrate_method=CalibrationMethod.Percentile, extra_options={"CalibPercentile": percentile},
        )
    onnx.checker.check_model(str(out_path))
    return Path(out_path)


def quantize_dynamic_matmul(fp32_path: Path, out_path: Path) -> Path:
    """Dynamic INT8 of the MatMul weights only (convolutions stay float: ConvInteger is slow)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        prepared = _prepare(Path(fp32_path), Path(tmp))
        quantize_dynamic(str(prepared), str(out_path), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
    onnx.checker.check_model(str(out_path))
    return Path(out_path)


def quantize_convs_then_matmul(fp32_path: Path, out_path: Path, input_name: str, tensors: Sequence[np.ndarray],
                               percentile: float = 99.99) -> Path:
    """Static QDQ INT8 of the convolutions only (calibrated on ``tensors``), then dynamic INT8 of
    the MatMul weights: attention, LayerNorm and GELU keep float activations, which is where the
    all-static copy of the PP-OCR recognizer loses its accuracy, while the convolutions that take
    three quarters of its time get the VNNI/dot-product kernels."""
    with tempfile.TemporaryDirectory() as tmp:
        convs = quantize_static_qdq(fp32_path, Path(tmp) / "convs.onnx", input_name, tensors, op_types=["Conv"],
                                    percentile=percentile)
        return quantize_dynamic_matmul(convs, out_path)
