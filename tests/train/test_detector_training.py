"""The DB detector's training code runs small on the CPU: loss falls, it resumes, exports and packs.

Same code path as a release run, on a tiny model, tiny crops and a handful of steps.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the [train] extra (torch)")

from edgeocr.config import Config  # noqa: E402
from edgeocr.detect.db import DbParams, resize_for_db  # noqa: E402
from edgeocr.engine import Engine, OcrOptions  # noqa: E402
from edgeocr.train.detector_data import DetectionPages, PageSpec, normalise  # noqa: E402
from edgeocr.train.detector_export import export_onnx, onnx_detector, quantize  # noqa: E402
from edgeocr.train.detector_model import DbNet, DbShape, db_loss  # noqa: E402
from edgeocr.train.detector_pack import build_pack  # noqa: E402
from edgeocr.train.detector_train import DetTrainConfig, finished, load_checkpoint, train  # noqa: E402
from edgeocr.train.fonts import latin_training_fonts  # noqa: E402
from edgeocr.train.pages import render_page  # noqa: E402

from ..rendering import encode, render_lines  # noqa: E402

SMALL = DbShape(stem=8, stages=(8, 16, 24, 32), blocks=(1, 1, 1, 1), neck=16)
TINY = dict(steps=6, batch_size=2, crop=128, crops_per_page=2, warmup_steps=2, stem=8, stages=(8, 16, 24, 32),
            blocks=(1, 1, 1, 1), neck=16, workers=0, threads=2, val_size=2, val_every=3, val_limit_side=256, log_every=3)


@pytest.fixture(scope="module")
def fonts():
    return latin_training_fonts()[:3]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, fonts):
    out = tmp_path_factory.mktemp("det-run")
    best = train(DetTrainConfig(seed=2, **TINY), out, fonts=fonts, log=lambda _: None)
    return out, best


def test_a_few_steps_on_a_tiny_set_reduce_the_loss(fonts):
    torch.manual_seed(0)
    data = DetectionPages(PageSpec(seed=3, size=2, crop=96, crops_per_page=2), fonts)
    batch = {k: torch.stack([data[i][k] for i in range(4)]) for k in data[0]}
    model = DbNet(SMALL)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses, probs = [], []
    for _ in range(15):
        loss, parts = db_loss(model(batch["image"]), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        probs.append(parts["prob"])
        assert set(parts) == {"prob", "dice", "thresh"} and all(np.isfinite(list(parts.values())))
    assert losses[-1] < 0.88 * losses[0], f"loss {losses[0]:.3f} -> {losses[-1]:.3f}"
    assert probs[-1] < 0.8 * probs[0], f"probability loss {probs[0]:.3f} -> {probs[-1]:.3f}"


def test_training_writes_history_and_resumes_from_last(trained, fonts, tmp_path):
    out, best = trained
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [3, 6]
    assert all(0.0 <= h["val_hmean"] <= 1.0 and h["s_per_step"] > 0 for h in history)
    assert best.exists() and (out / "last.pt").exists()
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    (resumed / "last.pt").write_bytes((out / "last.pt").read_bytes())
    messages: list[str] = []
    train(DetTrainConfig(seed=2, **{**TINY, "steps": 8, "val_every": 2}), resumed, fonts=fonts, log=messages.append)
    assert any(f"at step {TINY['steps']}" in m for m in messages)
    assert [json.loads(line)["step"] for line in (resumed / "history.jsonl").read_text().splitlines()] == [8]


def test_onnx_export_matches_torch_through_the_engines_detector(trained, tmp_path, fonts):
    _, best = trained
    model, _ = load_checkpoint(best)
    path = export_onnx(model, tmp_path / "det.onnx")
    params = DbParams(limit_side=320, threshold=0.05, box_threshold=0.05)  # an untrained map is faint
    detector = onnx_detector(path, params)
    page = render_page(8, 0, fonts).image
    for shape in ((page.shape[0], page.shape[1]), (200, 130)):     # any size: dynamic height and width
        gray = page[: shape[0], : shape[1]]
        resized, _, _ = resize_for_db(gray, params)
        onnx_prob = detector.session.run(None, {detector.input_name: normalise(resized)[None, None]})[0]
        with torch.no_grad():
            torch_prob = model(torch.from_numpy(normalise(resized))[None, None])["prob"].numpy()
        assert onnx_prob.shape == torch_prob.shape == (1, 1, *resized.shape)
        assert np.abs(onnx_prob - torch_prob).max() < 1e-4
    # The engine's DbDetector, fed the raw page, normalises by the pack's InputSpec exactly as
    # training does: its probability map equals the torch model's on the training normalisation.
    engine_prob, _, _ = detector.probability_map(page)
    resized, _, _ = resize_for_db(page, params)
    with torch.no_grad():
        torch_prob = model(torch.from_numpy(normalise(resized))[None, None])["prob"].numpy()[0, 0]
    assert engine_prob.shape == torch_prob.shape
    assert np.abs(engine_prob - torch_prob).max() < 1e-4


def test_int8_export_loads_and_stays_close_to_fp32(trained, tmp_path, fonts):
    _, best = trained
    model, _ = load_checkpoint(best)
    fp32 = export_onnx(model, tmp_path / "det.fp32.onnx")
    pages = [render_page(7, i, fonts).image for i in range(3)]
    int8 = quantize(fp32, tmp_path / "det.int8.onnx", pages, side=256)
    import onnx

    graph = onnx.load(str(int8)).graph
    ops = {node.op_type for node in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops          # QDQ around the convolutions
    assert any(init.data_type == onnx.TensorProto.INT8 for init in graph.initializer)  # int8 weights
    params = DbParams(limit_side=256)
    resized, _, _ = resize_for_db(pages[0], params)
    tensor = normalise(resized)[None, None]
    a = onnx_detector(fp32, params).session.run(None, {"images": tensor})[0]
    b = onnx_detector(int8, params).session.run(None, {"images": tensor})[0]
    assert b.shape == a.shape and 0.0 <= b.min() and b.max() <= 1.0
    assert np.abs(a - b).mean() < 0.05


def test_the_built_pack_runs_in_the_engine_with_classical_as_fallback(trained, tmp_path, fonts):
    _, best = trained
    pack = build_pack(best, tmp_path / "pack", calibration_count=2, selection_count=2, fonts=fonts)
    config = Config()
    engine = Engine(config.__class__(**{**config.__dict__, "engine": config.engine.__class__(
        **{**config.engine.__dict__, "pack": str(pack), "threads": 1})}))
    assert engine.default_detector == "db" and set(engine.detectors) == {"db", "classical"}
    data = encode(render_lines(["TOTAL 12.20"], font_size=28))
    assert engine.ocr_bytes(data).detector == "db"
    assert engine.ocr_bytes(data, OcrOptions(detector="classical")).text.strip()   # the fallback still reads


def test_a_time_limit_stops_cleanly_where_a_rerun_resumes(fonts, tmp_path):
    config = DetTrainConfig(seed=2, **{**TINY, "max_minutes": 1e-6})   # stops after the first step
    messages: list[str] = []
    train(config, tmp_path, fonts=fonts, log=messages.append)
    assert any("stopped after" in m and "at step 1;" in m for m in messages)
    assert not finished(tmp_path, config)
    assert torch.load(tmp_path / "last.pt", weights_only=False)["step"] == 1
