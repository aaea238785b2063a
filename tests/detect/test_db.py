"""DB post-processing on hand-made maps, and the DB detector through a real ONNX Runtime session.

No trained DB network is shipped; a tiny hand-built ONNX graph (darkness -> spread -> sigmoid)
stands in for it, so the session, the pre-processing and the post-processing all run for real.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgeocr.inputspec import InputSpec
from edgeocr.detect.db import DbDetector, DbParams, db_postprocess, resize_for_db
from edgeocr.errors import ModelPackError
from edgeocr.geometry import quad_size
from edgeocr.runtime import create_session

from ..rendering import line_boxes, render_lines


def bounds(quad: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def by_top(lines):
    return sorted(lines, key=lambda line: line.quad[:, 1].min())


# --- db_postprocess -------------------------------------------------------------------------------


def test_two_regions_give_two_boxes_grown_by_unclip():
    prob = np.zeros((100, 200), np.float32)
    prob[20:30, 20:120] = 0.9
    prob[60:70, 50:150] = 0.8
    first, second = by_top(db_postprocess(prob, DbParams()))
    for line, (kx0, ky0, kx1, ky1), p in ((first, (20, 20, 119, 29), 0.9), (second, (50, 60, 149, 69), 0.8)):
        x0, y0, x1, y1 = bounds(line.quad)
        assert x0 < kx0 and y0 < ky0 and x1 > kx1 and y1 > ky1            # larger than the kernel
        assert (x0 + x1) / 2 == pytest.approx((kx0 + kx1) / 2, abs=1)     # and centred on it
        assert (y0 + y1) / 2 == pytest.approx((ky0 + ky1) / 2, abs=1)
        assert line.score == pytest.approx(p, abs=0.01)
        assert line.quad.shape == (4, 2)


def test_unclip_grows_by_area_times_ratio_over_perimeter():
    prob = np.zeros((100, 200), np.float32)
    prob[40:50, 30:130] = 0.9                   # contour through pixel centres: 99 x 9
    for ratio in (1.0, 2.0):
        (line,) = db_postprocess(prob, DbParams(unclip_ratio=ratio))
        grow = 99 * 9 * ratio / (2 * (99 + 9))
        width, height = quad_size(line.quad)
        assert width == pytest.approx(99 + 2 * grow, abs=0.5)
        assert height == pytest.approx(9 + 2 * grow, abs=0.5)


def test_a_weak_region_is_dropped_and_a_strong_one_kept():
    prob = np.zeros((100, 200), np.float32)
    prob[20:30, 20:120] = 0.4      # above the pixel threshold, below the box threshold
    prob[60:70, 20:120] = 0.7      # above both
    (line,) = db_postprocess(prob, DbParams(threshold=0.3, box_threshold=0.6))
    assert bounds(line.quad)[1] > 45
    assert len(db_postprocess(prob, DbParams(threshold=0.3, box_threshold=0.35))) == 2


def test_mean_probability_decides_not_the_peak():
    prob = np.zeros((60, 200), np.float32)
    prob[20:30, 20:120] = 0.35
    prob[24:26, 60:64] = 1.0       # a bright speck does not rescue a weak region
    assert db_postprocess(prob, DbParams(threshold=0.3, box_threshold=0.6)) == []


def test_tiny_regions_are_dropped():
    prob = np.zeros((100, 200), np.float32)
    prob[60:61, 50:51] = 0.95      # a single pixel
    prob[10:14, 10:14] = 0.95      # 4 x 4: grows to about 7 x 7
    prob[40:52, 60:160] = 0.95     # a real line
    lines = db_postprocess(prob, DbParams(min_size=10))
    assert len(lines) == 1
    assert bounds(lines[0].quad)[0] < 60 < bounds(lines[0].quad)[2]
    assert len(db_postprocess(prob, DbParams(min_size=3))) == 2   # the 4 x 4 region passes a lower bar


def test_scale_maps_back_to_the_page():
    prob = np.zeros((64, 64), np.float32)
    prob[10:20, 10:50] = 0.9
    (plain,) = db_postprocess(prob, DbParams())
    (scaled,) = db_postprocess(prob, DbParams(), scale_x=2.0, scale_y=3.0)
    assert np.allclose(scaled.quad, plain.quad * np.array([2.0, 3.0], np.float32), atol=1e-3)
    assert scaled.score == pytest.approx(plain.score)


def test_boxes_are_clipped_to_the_scaled_page():
    prob = np.zeros((64, 64), np.float32)
    prob[0:10, 0:64] = 0.9         # touches three borders; unclip would leave the map
    (line,) = db_postprocess(prob, DbParams(), scale_x=2.0, scale_y=2.0)
    x0, y0, x1, y1 = bounds(line.quad)
    assert x0 == 0 and y0 == 0 and x1 == pytest.approx(127)


def test_a_rotated_region_gives_a_rotated_ordered_quad():
    prob = np.zeros((200, 200), np.float32)
    corners = cv2.boxPoints(((100, 100), (120, 16), 20)).astype(np.int32)
    cv2.fillPoly(prob, [corners], 0.9)
    (line,) = db_postprocess(prob, DbParams())
    tl, tr, br, bl = line.quad
    assert tr[1] > tl[1] + 20            # the top edge slopes down to the right (20 degrees)
    assert tl[0] < tr[0] and bl[0] < br[0] and tl[1] < bl[1]
    width, height = quad_size(line.quad)
    assert width > 120 and 16 < height < 50


def test_max_candidates_caps_the_regions_examined():
    prob = np.zeros((100, 200), np.float32)
    for top in (10, 40, 70):
        prob[top : top + 10, 20:180] = 0.9
    assert len(db_postprocess(prob, DbParams())) == 3
    assert len(db_postprocess(prob, DbParams(max_candidates=1))) == 1


def test_an_empty_map_gives_nothing_and_a_3d_map_is_refused():
    assert db_postprocess(np.zeros((64, 64), np.float32), DbParams()) == []
    with pytest.raises(ValueError):
        db_postprocess(np.zeros((1, 64, 64), np.float32), DbParams())


# --- resize_for_db --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, limit", [((1000, 460), 960), ((300, 1500), 640), ((200, 300), 960),
                                          ((33, 700), 960), ((10, 10), 960), ((5000, 40), 960)])
def test_resize_for_db_gives_multiples_of_32_within_the_limit(shape, limit):
    image = np.zeros(shape, np.uint8)
    params = DbParams(limit_side=limit)
    resized, sx, sy = resize_for_db(image, params)
    h, w = resized.shape
    assert h % 32 == 0 and w % 32 == 0
    assert max(h, w) <= max(limit, 32)
    assert min(h, w) >= params.min_side
    assert sx == pytest.approx(shape[1] / w) and sy == pytest.approx(shape[0] / h)


def test_resize_for_db_keeps_small_pages_near_their_size_and_shrinks_large_ones():
    resized, _, _ = resize_for_db(np.zeros((200, 300), np.uint8), DbParams(limit_side=960))
    assert resized.shape == (192, 288)          # rounded to 32, not enlarged to the limit
    resized, _, _ = resize_for_db(np.zeros((1920, 960), np.uint8), DbParams(limit_side=960))
    assert resized.shape == (960, 480)          # the longer side hits the limit, aspect kept


def test_resize_for_db_keeps_channels():
    resized, _, _ = resize_for_db(np.zeros((100, 200, 3), np.uint8), DbParams())
    assert resized.shape == (96, 192, 3)


# --- DbDetector through ONNX Runtime --------------------------------------------------------------


def darkness_model(path: Path, channels: int, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
    """prob = sigmoid(12 * (0.5 - darkest nearby grey)): undo the normalisation, average the channels,
    invert around mid-grey, spread along the line with a max-pool, squash to [0, 1]."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, None, None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, None, None])
    initializers = [
        helper.make_tensor("std", TensorProto.FLOAT, [1, channels, 1, 1], list(std)),
        helper.make_tensor("mean", TensorProto.FLOAT, [1, channels, 1, 1], list(mean)),
        helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
        helper.make_tensor("gain", TensorProto.FLOAT, [], [12.0]),
    ]
    nodes = [
        helper.make_node("Mul", ["x", "std"], ["pixels"]),
        helper.make_node("Add", ["pixels", "mean"], ["restored"]),
        helper.make_node("ReduceMean", ["restored"], ["gray"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["half", "gray"], ["dark"]),
        helper.make_node("Mul", ["dark", "gain"], ["logits"]),
        helper.make_node("MaxPool", ["logits"], ["spread"], kernel_shape=[5, 25], pads=[2, 12, 2, 12], strides=[1, 1]),
        helper.make_node("Sigmoid", ["spread"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "darkness", [x], [y], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


@pytest.mark.parametrize("channels, mean, std", [
    (3, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    (1, (0.5,), (0.5,)),
])
def test_db_detector_through_onnx_runtime(tmp_path, channels, mean, std):
    model = tmp_path / "det.onnx"
    darkness_model(model, channels, mean, std)
    session = create_session(model, threads=1)
    detector = DbDetector(session, DbParams(unclip_ratio=0.5), InputSpec(channels=channels, mean=mean, std=std))
    assert detector.input_name == "x" and detector.name == "db"
    lines = ["First line here", "Second one", "Third and last line"]
    page = render_lines(lines, font_size=24)[:, :, 0]   # about 330 x 260: resized to multiples of 32
    assert page.shape[0] % 32 and page.shape[1] % 32
    found = by_top(detector.detect(page))
    assert len(found) == len(lines)
    for line, (x0, y0, x1, y1) in zip(found, line_boxes(lines, font_size=24)):
        qx0, qy0, qx1, qy1 = bounds(line.quad)
        assert abs(qx0 - x0) < 20 and abs(qx1 - x1) < 20       # mapped back to page coordinates
        assert qy0 < (y0 + y1) / 2 < qy1
        assert qy1 - qy0 < 2.5 * (y1 - y0)                     # one line, not two
        assert line.score > 0.85                               # the ink region scores high, not just above the bar


def test_db_detector_on_a_blank_page_finds_nothing(tmp_path):
    model = tmp_path / "det.onnx"
    darkness_model(model, 3, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    detector = DbDetector(create_session(model, threads=1), DbParams())
    assert detector.detect(np.full((120, 200), 245, np.uint8)) == []


def test_create_session_refuses_a_file_that_is_not_a_model(tmp_path):
    bogus = tmp_path / "det.onnx"
    bogus.write_bytes(b"definitely not protobuf" * 10)
    with pytest.raises(ModelPackError) as caught:
        create_session(bogus, threads=1)
    assert str(bogus) in caught.value.message
