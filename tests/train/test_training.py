"""The training code runs small on the CPU: the loss falls, and the result exports and quantizes.

This is the same code path that trains the shipped pack, on a tiny charset and model.
"""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the [train] extra (torch)")

from edgeocr.packs import load_pack  # noqa: E402
from edgeocr.runtime import create_session  # noqa: E402
from edgeocr.train.fonts import latin_training_fonts  # noqa: E402
from edgeocr.train.pack import build_pack  # noqa: E402
from edgeocr.train.train import TrainConfig, load_checkpoint, train  # noqa: E402

DIGITS = list("0123456789")


def digit_text(rng: random.Random, charset: list[str]) -> str:
    return "".join(rng.choice(charset) for _ in range(rng.randint(1, 4)))


TINY = dict(steps=240, batch_size=16, lr=3e-3, warmup_steps=20, channels=(8, 16, 16, 16, 32, 32), hidden=32,
            max_width=128, workers=0, val_size=32, val_every=60, val_batch_size=32, threads=2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    fonts = latin_training_fonts()[:4]
    best = train(TrainConfig(seed=3, **TINY), out, charset=DIGITS, fonts=fonts, sample_text=digit_text, log=lambda _: None)
    return out, best, fonts


def test_loss_falls(trained):
    out, _, _ = trained
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert len(history) == TINY["steps"] // TINY["val_every"]
    first, last = history[0]["loss"], history[-1]["loss"]
    assert last < 0.5 * first, f"loss did not fall enough: {first:.2f} -> {last:.2f}"


def test_checkpoint_resume_continues_from_last_step(trained, tmp_path):
    out, _, fonts = trained
    messages: list[str] = []
    resumed_dir = tmp_path / "resumed"
    resumed_dir.mkdir()
    (resumed_dir / "last.pt").write_bytes((out / "last.pt").read_bytes())
    config = TrainConfig(seed=3, **{**TINY, "steps": TINY["steps"] + 20, "val_every": 20})
    train(config, resumed_dir, charset=DIGITS, fonts=fonts, sample_text=digit_text, log=messages.append)
    assert any(f"resumed from {resumed_dir / 'last.pt'} at step {TINY['steps']}" in m for m in messages)
    steps = [json.loads(line)["step"] for line in (resumed_dir / "history.jsonl").read_text().splitlines()]
    assert steps == [TINY["steps"] + 20]


def test_export_and_int8_load_in_onnx_runtime_and_agree(trained, tmp_path):
    _, best, fonts = trained
    pack_dir = build_pack(best, tmp_path / "pack", "digits-test", "0.0.1", "test digits", calibration_count=16,
                          fonts=fonts, sample_text=digit_text)
    pack = load_pack(pack_dir)
    assert pack.charset() == DIGITS
    model, _ = load_checkpoint(best)
    rng = np.random.default_rng(0)
    batch = rng.uniform(-1, 1, (2, 1, 32, 96)).astype(np.float32)
    with torch.no_grad():
        reference = torch.softmax(model(torch.from_numpy(batch)), dim=-1).numpy()
    for variant in (None, "fp32"):
        session = create_session(pack.recognizer_model(variant), threads=1)
        probs = session.run(None, {"images": batch})[0]
        assert probs.shape == reference.shape == (2, 24, len(DIGITS) + 1)
        assert np.allclose(probs.sum(axis=-1), 1.0, atol=1e-3)
    fp32 = create_session(pack.recognizer_model("fp32"), threads=1).run(None, {"images": batch})[0]
    assert np.abs(fp32 - reference).max() < 1e-3
