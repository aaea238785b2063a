"""edgeocr/quantize.py on a real model: en-latin-v1's FP32 CRNN (convolutions, BiLSTM, a MatMul head)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from edgeocr.inputspec import resize_line, to_batch
from edgeocr.packs import find_pack_dir, load_pack
from edgeocr.quantize import quantize_convs_then_matmul
from edgeocr.recognize import Recognizer
from edgeocr.runtime import create_session

from .rendering import line_boxes, render_lines


@pytest.fixture(scope="module")
def crnn():
    pack = load_pack(find_pack_dir("en-latin-v1"))
    return pack, pack.path(pack.recognizer.variants["fp32"])


def test_convolutions_static_and_matmuls_dynamic(tmp_path, crnn):
    pack, fp32 = crnn
    x0, y0, x1, y1 = line_boxes(["TOTAL 12.50"])[0]
    line = render_lines(["TOTAL 12.50"])[y0 - 4:y1 + 4, x0 - 4:x1 + 4]
    spec = pack.recognizer.input
    tensors = [to_batch([resize_line(line, spec, width=160)], spec)] * 4
    out = quantize_convs_then_matmul(fp32, tmp_path / "rec.onnx", "images", tensors)
    ops = [node.op_type for node in onnx.load(str(out)).graph.node]
    convs = ops.count("Conv")
    assert convs > 0 and ops.count("DequantizeLinear") >= 2 * convs   # each conv's input and weight
    assert "DynamicQuantizeLinear" in ops or "DynamicQuantizeMatMul" in ops or "MatMulInteger" in ops
    assert "LSTM" in ops   # left in float
    assert Path(out).stat().st_size < Path(fp32).stat().st_size   # the LSTM keeps its float weights

    def read(path) -> str:
        return Recognizer(create_session(Path(path), 1), pack.charset(), spec).recognize([line])[0].text
    assert read(out) == read(fp32) == "TOTAL 12.50"
