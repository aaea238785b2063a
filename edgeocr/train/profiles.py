"""What each pack is trained from: charset, fonts, text sampler and the release training settings.

``python -m edgeocr.train.pack --charset zh-en`` looks its recipe up here, so one seed and one
profile name reproduce a pack.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from .charset import latin_charset, zh_en_charset
from .corpus import sample_english_line
from .corpus_zh import sample_zh_en_line
from .fonts import latin_training_fonts, zh_en_training_fonts
from .scan_data import ScanLines, sample_scan_text, scan_charset, scan_training_fonts
from .train import TrainConfig


@dataclass(frozen=True)
class Profile:
    pack_name: str
    charset: Callable[[], list[str]]
    fonts: Callable[[], list]
    sample_text: Callable
    train: TrainConfig
    description: str
    # How the INT8 file treats the LSTM and the output layer; see export.quantize_int8.
    quantize: dict[str, Any]
    # What renders training samples; None: plain lines (dataset.RenderedLines, render.py), and
    # INT8 calibration lines as export.render_calibration_lines draws them, as v1 was built.
    dataset: type | None = None


PROFILES: dict[str, Profile] = {
    "latin": Profile(
        pack_name="en-latin-v1",
        charset=latin_charset,
        fonts=latin_training_fonts,
        sample_text=sample_english_line,
        train=TrainConfig(steps=4000),
        description="rendered English/receipt lines (wordfreq English words, prices, dates, codes)",
        quantize={"quantize_lstm": True, "head": "static"},
    ),
    # The fast path's model (issue 14): trained on receipt-scan renders, with a mark for lines in
    # another script. Sized for 2 CPU cores and at most 150 minutes; one step (batch 64) takes
    # ~0.7 s there with one rendering process. Wider than v1 in the last four convolutions only:
    # the full 1.1 M-parameter (24..128, 128) shape would not fit 1 MB in INT8 and costs 2x per step.
    "latin-v2": Profile(
        pack_name="en-latin-v2",
        charset=scan_charset,
        fonts=scan_training_fonts,
        sample_text=sample_scan_text,
        train=TrainConfig(steps=5000, lr=2e-3, warmup_steps=300, channels=(16, 32, 64, 96, 128, 128), hidden=96,
                          val_size=512, val_every=500, max_width=512),
        description=("receipt-scan renders of English/receipt lines (wordfreq English words, prices, dates, codes; "
                     "neighbour-line slivers, condensed and dot-matrix type, thermal fade, low resolution, skew, "
                     "JPEG) and 10 % Chinese or mixed lines labelled U+FFFD per non-Latin character"),
        quantize={"quantize_lstm": True, "head": "static"},
        dataset=ScanLines,
    ),
    # Release run, sized for the accelerator (numbers from bench/recognizer_shapes.py). 32 px high:
    # 48 px costs 1.5x the backbone's multiply-adds (INT8 6.5 vs 3.6 ms a line on 1 thread) and
    # saves only a few near-twin hanzi (cosine > 0.9 at the glyph size the model sees: Noto Sans
    # SC 319 -> 210 of 6,763, Serif 193 -> 97); re-measure on accuracy once a trained model
    # exists. A wider backbone and LSTM than the Latin pack for ~6.9k classes, and a 128-wide
    # bottleneck before the output layer (3.0 MB INT8 instead of 4.3 MB; an FP32 output layer
    # without it would alone be 8.9 MB). The output layer is quantized dynamically, the fastest
    # of static/dynamic/FP32 (3.3 / 3.6 / 4.0 ms); compare their accuracy with --int8-head.
    "zh-en": Profile(
        pack_name="zh-en-v1",
        charset=zh_en_charset,
        fonts=zh_en_training_fonts,
        sample_text=sample_zh_en_line,
        train=TrainConfig(steps=120_000, batch_size=256, lr=1e-3, warmup_steps=2000, height=32,
                          channels=(32, 64, 128, 128, 192, 192), hidden=160, bottleneck=128, max_width=384,
                          val_size=2048, val_every=5000, log_every=200, workers=14, threads=2, device="cuda"),
        description=("rendered Simplified Chinese + English lines (wordfreq zh/en words by frequency, receipt "
                     "lines, dates, times, prices, phone numbers, tax and invoice codes, mixed lines, 20 % "
                     "uniformly drawn GB2312 hanzi)"),
        quantize={"quantize_lstm": True, "head": "dynamic"},
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown charset profile {name!r}; choose one of {sorted(PROFILES)}") from None


def with_overrides(config: TrainConfig, **overrides: Any) -> TrainConfig:
    """The profile's settings with the command line's non-None values on top."""
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})
