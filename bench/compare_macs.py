"""Work per line and the CPU's ceiling: the "distance to the limit" figure of ``bench/compare.py``.

``count_macs`` fixes the graph input to one shape, runs ONNX shape inference, and counts
multiply-accumulates of the layers that do the arithmetic: Conv, MatMul, Gemm, LSTM, GRU and
their quantized forms (ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul, the ONNX Runtime
contrib DynamicQuantizeLSTM). Element-wise ops, pooling and softmax are left out: they are memory
work, not MACs. A node whose shapes inference could not find is listed as uncounted rather than
guessed, so a partial count can never pass for a whole one.

``cpu_peak`` derives the ceiling as cores x clock x SIMD MACs per cycle per core from
``/proc/cpuinfo`` flags; its ``derivation`` string says exactly what was assumed.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import onnx
from onnx import shape_inference

# op type -> (index of the weight input, or None) for the convolution family
CONV_WEIGHT = {"Conv": 1, "ConvInteger": 1, "QLinearConv": 3}
MATMUL_B = {"MatMul": 1, "MatMulInteger": 1, "QLinearMatMul": 3}
RECURRENT_GATES = {"LSTM": 4, "DynamicQuantizeLSTM": 4, "GRU": 3}


@dataclass
class MacCount:
    total: int = 0
    by_op: dict[str, int] = field(default_factory=dict)
    uncounted: list[str] = field(default_factory=list)

    def add(self, op: str, macs: int) -> None:
        self.total += macs
        self.by_op[op] = self.by_op.get(op, 0) + macs


def _dims(value: onnx.ValueInfoProto | onnx.TensorProto) -> list[int] | None:
    if isinstance(value, onnx.TensorProto):
        return list(value.dims)
    if not value.type.HasField("tensor_type") or not value.type.tensor_type.HasField("shape"):
        return None
    dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
    return None if any(d is None or d <= 0 for d in dims) else dims


def _with_input_shape(model: onnx.ModelProto, shape: list[int]) -> onnx.ModelProto:
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    initializers = {t.name for t in fixed.graph.initializer}
    graph_input = next(i for i in fixed.graph.input if i.name not in initializers)
    dims = graph_input.type.tensor_type.shape.dim
    if len(dims) != len(shape):
        raise ValueError(f"input {graph_input.name} has rank {len(dims)}, not {len(shape)}")
    for dim, size in zip(dims, shape):
        dim.Clear()
        dim.dim_value = size
    return shape_inference.infer_shapes(fixed, strict_mode=False, data_prop=True)


def _attribute(node: onnx.NodeProto, name: str, default):
    for attribute in node.attribute:
        if attribute.name == name:
            return onnx.helper.get_attribute_value(attribute)
    return default


def count_macs(model: onnx.ModelProto | str | os.PathLike, input_shape: list[int]) -> MacCount:
    """MACs of one inference with the (single) graph input fixed to ``input_shape``."""
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    inferred = _with_input_shape(model, input_shape)
    graph = inferred.graph
    shapes: dict[str, list[int] | None] = {}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        shapes[value.name] = _dims(value)
    for tensor in graph.initializer:
        shapes[tensor.name] = _dims(tensor)

    def shape(name: str) -> list[int] | None:
        return shapes.get(name) if name else None

    result = MacCount()
    for node in graph.node:
        op = node.op_type
        label = f"{op} {node.name or node.output[0]}"
        if op in CONV_WEIGHT:
            out, weight = shape(node.output[0]), shape(node.input[CONV_WEIGHT[op]])
            if out is None or weight is None:
                result.uncounted.append(label)
                continue
            # each output element sums Cin/groups x kernel products: the weight's dims after Cout
            result.add(op, math.prod(out) * math.prod(weight[1:]))
        elif op in MATMUL_B or op == "Gemm":
            out, a = shape(node.output[0]), shape(node.input[0])
            if out is None or a is None:
                result.uncounted.append(label)
                continue
            k = a[0] if op == "Gemm" and _attribute(node, "transA", 0) else a[-1]
            result.add(op, math.prod(out) * k)
        elif op in RECURRENT_GATES:
            x = shape(node.input[0])
            hidden = _attribute(node, "hidden_size", None)
            if x is None or hidden is None:
                result.uncounted.append(label)
                continue
            steps, batch = (x[1], x[0]) if _attribute(node, "layout", 0) else (x[0], x[1])
            directions = 2 if _attribute(node, "direction", b"forward") in (b"bidirectional", "bidirectional") else 1
            gates = RECURRENT_GATES[op]
            # per step and direction: every gate multiplies [x_t, h_{t-1}] by its weights
            result.add(op, directions * steps * batch * gates * hidden * (x[2] + hidden))
    return result


# -- the CPU's ceiling ------------------------------------------------------------------------


def cpu_info(path: Path = Path("/proc/cpuinfo")) -> tuple[str, float, set[str]]:
    """(model name, clock in GHz, flags) of the first CPU listed."""
    model, mhz, flags = "unknown", 0.0, set()
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "model name" and model == "unknown":
            model = value
        elif key == "cpu MHz" and not mhz:
            mhz = float(value)
        elif key == "flags" and not flags:
            flags = set(value.split())
    return model, mhz / 1000, flags


def cpu_peak(cores: int, clock_ghz: float, flags: set[str], fma_ports: int = 2) -> dict:
    """Peak fp32 and int8 MAC/s for ``cores`` cores, and the sentence that derives them."""
    if "avx512f" in flags:
        isa, fp32_lanes = "AVX-512", 16
    elif "avx2" in flags and "fma" in flags:
        isa, fp32_lanes = "AVX2+FMA", 8
    else:
        isa, fp32_lanes = "SSE", 4
    fp32_per_cycle = fp32_lanes * fma_ports
    if "avx512_vnni" in flags and fp32_lanes == 16:
        int8_per_cycle, int8_how = 64 * fma_ports, f"VPDPBUSD zmm: 64 int8 MACs x {fma_ports} ports"
    elif "avx_vnni" in flags or "avx512_vnni" in flags:
        int8_per_cycle, int8_how = 32 * fma_ports, f"VPDPBUSD ymm: 32 int8 MACs x {fma_ports} ports"
    else:
        int8_per_cycle, int8_how = 2 * fp32_per_cycle, "no VNNI: VPMADDUBSW+VPMADDWD, about 2x fp32"
    hz = cores * clock_ghz * 1e9
    derivation = (f"{cores} core(s) x {clock_ghz:.2f} GHz (/proc/cpuinfo 'cpu MHz', base clock; turbo not "
                  f"counted) x {isa} {fp32_lanes} fp32 lanes x {fma_ports} FMA ports = {fp32_per_cycle} fp32 "
                  f"MAC/cycle/core; int8: {int8_how} = {int8_per_cycle} MAC/cycle/core")
    if "amx_int8" in flags:
        derivation += "; AMX-INT8 tiles are present and would raise the int8 ceiling much further (not counted)"
    return {"cores": cores, "clock_ghz": clock_ghz, "isa": isa, "fp32_macs_per_cycle_per_core": fp32_per_cycle,
            "int8_macs_per_cycle_per_core": int8_per_cycle, "fp32_peak_macs": hz * fp32_per_cycle,
            "int8_peak_macs": hz * int8_per_cycle, "derivation": derivation}


def distance_to_limit(macs: int, seconds_per_line: float, peak: dict) -> dict:
    achieved = macs / seconds_per_line if seconds_per_line > 0 else 0.0
    return {"macs_per_line": macs, "seconds_per_line": seconds_per_line, "achieved_macs": achieved,
            "share_of_fp32_peak": achieved / peak["fp32_peak_macs"] if peak["fp32_peak_macs"] else 0.0,
            "share_of_int8_peak": achieved / peak["int8_peak_macs"] if peak["int8_peak_macs"] else 0.0}
