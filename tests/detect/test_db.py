"""DB post-processing on hand-made maps, and the DB detector through a real ONNX Runtime session.

The detector network itself comes with the detector issue; here a tiny hand-built ONNX graph
(darkness -> sigmoid) stands in for it, so the session, pre-processing and post-processing run
for real.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from edgeocr.detect.db import DbDetector, DbParams, db_postprocess, resize_for_db
from edgeocr.runtime import create_session

from ..rendering import line_boxes, render_lines


def test_two_regions_two_boxes_grown_by_unclip():
    prob = np.zeros((100, 200), np.float32)
    prob[20:30, 20:120] = 0.9
    prob[60:70, 50:150] = 0.9
    lines = sorted(db_postprocess(prob, DbParams()), key=lambda line: line.quad[0, 1])
    assert len(lines) == 2
    x0, y0 = lines[0].quad.min(axis=0)
    x1, y1 = lines[0].quad.max(axis=0)
    assert x0 < 20 and x1 > 119 and y0 < 20 and y1 > 29  # larger than the kernel
    assert abs((y0 + y1) / 2 - 24.5) < 2
    assert lines[0].score > 0.85


def test_weak_and_tiny_regions_are_dropped():
    prob = np.zeros((100, 200), np.float32)
    prob[20:30, 20:120] = 0.4      # above the pixel threshold, below the box threshold
    prob[60:61, 50:51] = 0.95      # one pixel
    assert db_postprocess(prob, DbParams()) == []


def test_scale_maps_back_to_the_page():
    prob = np.zeros((64, 64), np.float32)
    prob[10:20, 10:50] = 0.9
    (line,) = db_postprocess(prob, DbParams(), scale_x=2.0, scale_y=3.0)
    assert line.quad[:, 0].max() > 95 and line.quad[:, 1].max() > 57


def test_resize_for_db_gives_multiples_of_32_within_the_limit():
    image = np.zeros((1000, 460), np.uint8)
    resized, sx, sy = resize_for_db(image, DbParams(limit_side=960))
    h, w = resized.shape
    assert h % 32 == 0 and w % 32 == 0 and max(h, w) <= 960
    assert abs(sx - 460 / w) < 1e-6 and abs(sy - 1000 / h) < 1e-6


def darkness_model(path) -> None:
    """probs = sigmoid(12 * (0.5 - mean over channels of the de-normalised input))."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, None, None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, None, None])
    consts = [helper.make_tensor(n, TensorProto.FLOAT, [1, 3, 1, 1], v) for n, v in
              (("std", [0.229, 0.224, 0.225]), ("mean", [0.485, 0.456, 0.406]))]
    nodes = [
        helper.make_node("Mul", ["x", "std"], ["pixels"]),
        helper.make_node("Add", ["pixels", "mean"], ["restored"]),
        helper.make_node("ReduceMean", ["restored"], ["gray"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["half", "gray"], ["dark"]),
        helper.make_node("Mul", ["dark", "gain"], ["logits"]),
        helper.make_node("MaxPool", ["logits"], ["spread"], kernel_shape=[7, 31], pads=[3, 15, 3, 15], strides=[1, 1]),
        helper.make_node("Sigmoid", ["spread"], ["y"]),
    ]
    scalars = [helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]), helper.make_tensor("gain", TensorProto.FLOAT, [], [12.0])]
    graph = helper.make_graph(nodes, "darkness", [x], [y], initializer=consts + scalars)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def test_db_detector_through_onnx_runtime(tmp_path):
    darkness_model(tmp_path / "det.onnx")
    detector = DbDetector(create_session(tmp_path / "det.onnx", threads=1), DbParams(unclip_ratio=0.5))
    lines = ["First line here", "Second one"]
    page = render_lines(lines, font_size=30)[:, :, 0]
    found = sorted(detector.detect(page), key=lambda line: line.quad[0, 1])
    assert len(found) == 2
    for line, (x0, y0, x1, y1) in zip(found, line_boxes(lines, font_size=30)):
        qx0, qy0 = line.quad.min(axis=0)
        qx1, qy1 = line.quad.max(axis=0)
        assert abs(qx0 - x0) < 25 and abs(qx1 - x1) < 25 and qy0 < (y0 + y1) / 2 < qy1
