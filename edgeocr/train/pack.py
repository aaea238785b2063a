"""Build a model pack from a trained checkpoint: ONNX FP32 + INT8, charset, pack.yaml with sha256.

Reproduce the shipped English pack from its seed (train, export, quantize, write the pack):

    python -m edgeocr.train.pack --out models/en-latin-v1 --train-dir runs/en-latin-v1 --seed 1 --steps 4000

The Chinese + English pack (profile ``zh-en`` in profiles.py; its defaults are the release run on
one CUDA accelerator; ``--device cpu --steps N`` runs it small):

    python -m edgeocr.train.pack --charset zh-en --out models/zh-en-v1 --train-dir runs/zh-en-v1 --seed 1
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import yaml

from ..detect.classical import ClassicalParams
from ..packs import PACK_FILE, family_input, sha256_file
from .charset import latin_charset, write_charset
from .corpus import sample_english_line
from .dataset import RenderedLines
from .export import HEAD_MODES, export_onnx, quantize_int8, render_calibration_lines
from .fonts import FontFace, latin_training_fonts
from .profiles import get_profile, with_overrides
from .train import finished_steps, load_checkpoint, train

REC_INT8 = "rec.int8.onnx"
REC_FP32 = "rec.fp32.onnx"
CHARSET = "charset.txt"


def build_pack(checkpoint: Path, out: Path, name: str, version: str, trained_on: str,
               calibration_count: int = 256, detector: dict[str, Any] | None = None,
               metrics: dict[str, Any] | None = None, fonts: list[Path] | None = None,
               sample_text=sample_english_line, quantize: dict[str, Any] | None = None,
               dataset: type | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    model, state = load_checkpoint(checkpoint)
    charset = state.get("charset") or latin_charset()
    if len(charset) != state["charset_size"]:
        raise ValueError(f"checkpoint has {state['charset_size']} characters, the charset {len(charset)}")
    write_charset(charset, out / CHARSET)
    export_onnx(model, out / REC_FP32)
    if dataset is None:
        calibration = render_calibration_lines(calibration_count, 7, charset, fonts or latin_training_fonts(),
                                               sample_text, model.shape.height)
    else:  # calibrate on what the profile trains on (receipt-scan renders for en-latin-v2)
        lines = dataset(7, calibration_count, charset, fonts or latin_training_fonts(), sample_text,
                        model.shape.height, 2048)
        calibration = [lines.sample(i)[0] for i in range(calibration_count)]
    quantize_int8(out / REC_FP32, out / REC_INT8, calibration, **(quantize or {}))
    pack = {
        "name": name,
        "version": version,
        "license": "Apache-2.0",
        "trained_on": trained_on,
        "files": {f: {"sha256": sha256_file(out / f)} for f in (REC_INT8, REC_FP32, CHARSET)},
        "recognizer": {
            "type": "crnn-ctc", "model": REC_INT8, "variants": {"int8": REC_INT8, "fp32": REC_FP32}, "charset": CHARSET,
            "input": family_input("crnn-ctc", height=model.shape.height, max_width=2048).to_dict(), "blank_index": 0,
            "architecture": {"channels": list(model.shape.channels), "lstm_hidden": model.shape.hidden,
                             "lstm_layers": 2, "bottleneck": model.shape.bottleneck, "classes": model.num_classes},
            "quantization": {"convolutions": "static QDQ per-channel", **(quantize or {})},
            "training": {"step": state["step"], "val_cer": state.get("val_cer"), **state["config"]},
        },
        "detector": detector or {"type": "classical", "model": None, "settings": dataclasses.asdict(ClassicalParams())},
        "metrics": metrics or {},
    }
    (out / PACK_FILE).write_text(yaml.safe_dump(pack, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="pack folder to write")
    parser.add_argument("--train-dir", type=Path, required=True, help="checkpoints and logs (resumed if present)")
    parser.add_argument("--checkpoint", type=Path, help="skip training and pack this checkpoint")
    parser.add_argument("--charset", default="latin", help="training profile: latin or zh-en (profiles.py)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, help="default: the profile's")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--workers", type=int, help="rendering processes")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--device", help="cpu or cuda (default: the profile's; cuda falls back to cpu if absent)")
    parser.add_argument("--val-every", type=int)
    parser.add_argument("--val-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--warmup-steps", type=int)
    parser.add_argument("--max-minutes", type=float, help="stop training after this long (resumable); pack only when done")
    parser.add_argument("--int8-head", choices=HEAD_MODES, help="output layer in the INT8 file (default: the profile's)")
    parser.add_argument("--name", help="default: the profile's pack name")
    parser.add_argument("--version", default="1.0.0")
    args = parser.parse_args(argv)
    profile = get_profile(args.charset)
    device = args.device or profile.train.device
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print("no CUDA device: training on the CPU")
            device = "cpu"
    config = with_overrides(profile.train, seed=args.seed, steps=args.steps, batch_size=args.batch_size,
                            workers=args.workers, threads=args.threads, device=device, val_every=args.val_every,
                            val_size=args.val_size, lr=args.lr, warmup_steps=args.warmup_steps,
                            max_minutes=args.max_minutes)
    charset, fonts = profile.charset(), profile.fonts()
    checkpoint = args.checkpoint or train(config, args.train_dir, charset=charset, fonts=fonts,
                                          sample_text=profile.sample_text, dataset=profile.dataset or RenderedLines)
    if not args.checkpoint and finished_steps(args.train_dir) < config.steps:
        print(f"training not finished ({finished_steps(args.train_dir)} of {config.steps} steps): no pack yet")
        return
    font_names = ", ".join(f.name if isinstance(f, FontFace) else f.stem for f in fonts)
    trained_on = f"{profile.description}, seed {args.seed}, fonts: {font_names}"
    build_pack(checkpoint, args.out, args.name or profile.pack_name, args.version, trained_on, fonts=fonts,
               sample_text=profile.sample_text, dataset=profile.dataset,
               quantize={**profile.quantize, **({"head": args.int8_head} if args.int8_head else {})})
    print(f"pack written to {args.out}")


if __name__ == "__main__":
    main()
