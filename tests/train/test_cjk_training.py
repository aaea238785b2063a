"""The zh-en training path runs small on the CPU: CJK fonts, a bottleneck head, INT8 export ORT loads.

Same code as the release run (``python -m edgeocr.train.pack --charset zh-en``), on a tiny charset.
"""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the [train] extra (torch)")

from edgeocr.packs import load_pack  # noqa: E402
from edgeocr.runtime import create_session  # noqa: E402
from edgeocr.train.fonts import CJK_TRAIN_FACES, cjk_training_fonts, find_faces  # noqa: E402
from edgeocr.train.pack import build_pack  # noqa: E402
from edgeocr.train.profiles import get_profile  # noqa: E402
from edgeocr.train.train import TrainConfig, finished_steps, load_checkpoint, train  # noqa: E402

pytestmark = pytest.mark.skipif(not find_faces(CJK_TRAIN_FACES), reason="no CJK training font (apt fonts-wqy-microhei)")

TINY_HANZI = list("一二三元合计金额0123456789")


def hanzi_text(rng: random.Random, charset: list[str]) -> str:
    return "".join(rng.choice(charset) for _ in range(rng.randint(1, 3)))


TINY = dict(steps=150, batch_size=16, lr=3e-3, warmup_steps=15, channels=(8, 16, 16, 16, 32, 32), hidden=32,
            bottleneck=16, max_width=128, workers=0, val_size=32, val_every=50, val_batch_size=32, threads=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cjk-run")
    fonts = cjk_training_fonts()[:2]
    best = train(TrainConfig(seed=4, **TINY), out, charset=TINY_HANZI, fonts=fonts, sample_text=hanzi_text,
                 log=lambda _: None)
    return out, best, fonts


def test_loss_falls_on_hanzi(trained):
    out, _, _ = trained
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [50, 100, 150]
    assert history[-1]["loss"] < 0.7 * history[0]["loss"], history


def test_bottleneck_checkpoint_exports_to_int8_that_onnx_runtime_runs(trained, tmp_path):
    _, best, fonts = trained
    model, state = load_checkpoint(best)
    assert model.shape.bottleneck == 16 and state["charset"] == TINY_HANZI
    pack_dir = build_pack(best, tmp_path / "pack", "zh-tiny", "0.0.1", "test hanzi", calibration_count=8,
                          fonts=fonts, sample_text=hanzi_text, quantize={"quantize_lstm": True, "head": "dynamic"})
    pack = load_pack(pack_dir)
    assert pack.charset() == TINY_HANZI
    batch = np.random.default_rng(0).uniform(-1, 1, (2, 1, 32, 64)).astype(np.float32)
    with torch.no_grad():
        reference = torch.softmax(model(torch.from_numpy(batch)), dim=-1).numpy()
    int8 = create_session(pack.recognizer_model(), threads=1).run(None, {"images": batch})[0]
    fp32 = create_session(pack.recognizer_model("fp32"), threads=1).run(None, {"images": batch})[0]
    assert int8.shape == fp32.shape == (2, 16, len(TINY_HANZI) + 1)
    assert np.abs(fp32 - reference).max() < 1e-3
    assert np.allclose(int8.sum(axis=-1), 1.0, atol=1e-3)
    # Quantized, not copied: a smaller file whose outputs still follow the FP32 model's.
    assert pack.recognizer_model().stat().st_size < pack.recognizer_model("fp32").stat().st_size
    assert np.abs(int8 - fp32).mean() < 0.1


def test_zh_en_profile_is_sized_for_the_release():
    profile = get_profile("zh-en")
    assert len(profile.charset()) > 6900
    assert profile.train.bottleneck > 0 and profile.train.height in (32, 48)
    with pytest.raises(ValueError, match="unknown charset profile"):
        get_profile("klingon")


def test_time_budget_stops_with_a_resumable_checkpoint(tmp_path):
    # A lent accelerator runs one command for at most 10 minutes: long runs are resumed chunks.
    fonts = cjk_training_fonts()[:1]
    messages: list[str] = []
    config = TrainConfig(seed=4, **{**TINY, "steps": 10_000, "max_minutes": 0.0005})
    train(config, tmp_path, charset=TINY_HANZI, fonts=fonts, sample_text=hanzi_text, log=messages.append)
    done = finished_steps(tmp_path)
    assert 1 <= done < 10_000
    assert any(f"stopped at step {done} of 10000" in m for m in messages)
    assert finished_steps(tmp_path / "elsewhere") == 0
