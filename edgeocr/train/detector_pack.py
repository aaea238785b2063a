"""Train the DB detector and put it into a model pack beside an existing pack's recognizer.

Reproduce from a seed (train, export FP32, calibrate INT8, measure both, write the pack):

    python3 -m edgeocr.train.detector_pack --out runs/det/pack --train-dir runs/det --seed 1 --steps 20000 \\
        --device cuda --workers 12 --batch-size 16 --crop 640

The pack ships INT8 unless INT8 scores a lower detection H-mean than FP32 on held-out rendered
pages (training fonts, a seed of their own); the other file stays in the pack as a variant and
both scores are written into ``pack.yaml``.
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import yaml

from ..detect.db import DbParams
from ..packs import PACK_FILE, find_pack_dir, load_pack, sha256_file
from .detector_export import compare_variants, export_onnx, quantize
from .detector_model import INPUT_SPEC
from .detector_train import add_arguments, config_from, finished, load_checkpoint, train
from .fonts import latin_training_fonts
from .pages import render_pages

DET_INT8 = "det.int8.onnx"
DET_FP32 = "det.fp32.onnx"
CALIBRATION_SEED = 7
SELECTION_SEED = 5_000_011
INT8_TOLERANCE = 0.0  # INT8 must match FP32's H-mean on the selection pages to ship


def detector_settings(params: DbParams = DbParams()) -> dict[str, Any]:
    return dataclasses.asdict(params)


def build_pack(checkpoint: Path, out: Path, base_pack: str = "en-latin-v1", calibration_count: int = 48,
               selection_count: int = 48, fonts: list[Path] | None = None, workers: int = 1,
               params: DbParams = DbParams(), version_suffix: str = "+db") -> Path:
    fonts = fonts or latin_training_fonts()
    base = load_pack(find_pack_dir(base_pack))
    out.mkdir(parents=True, exist_ok=True)
    for name in base.files:
        if not name.startswith("det."):
            shutil.copyfile(base.path(name), out / name)
    model, state = load_checkpoint(checkpoint)
    export_onnx(model, out / DET_FP32)
    calibration = [p.image for p in render_pages(CALIBRATION_SEED, list(range(calibration_count)), fonts, workers)]
    quantize(out / DET_FP32, out / DET_INT8, calibration)
    selection = render_pages(SELECTION_SEED, list(range(selection_count)), fonts, workers)
    scores = compare_variants({"int8": out / DET_INT8, "fp32": out / DET_FP32}, selection, params)
    use_int8 = scores["int8"]["hmean"] >= scores["fp32"]["hmean"] - INT8_TOLERANCE
    chosen = DET_INT8 if use_int8 else DET_FP32
    raw = yaml.safe_load((base.root / PACK_FILE).read_text(encoding="utf-8"))
    raw["version"] = f"{base.version}{version_suffix}"
    raw["detector"] = {
        "type": "db", "model": chosen, "variants": {"int8": DET_INT8, "fp32": DET_FP32},
        "input": INPUT_SPEC.to_dict(),
        "settings": detector_settings(params),
        "architecture": state["shape"],
        "training": {"step": state["step"], "val_hmean": state.get("val_hmean"), **state["config"]},
        "selection": {"pages": selection_count, "seed": SELECTION_SEED, **scores},
    }
    names = [n for n in base.files if not n.startswith("det.")] + [DET_INT8, DET_FP32]
    raw["files"] = {n: {"sha256": sha256_file(out / n)} for n in names}
    (out / PACK_FILE).write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    load_pack(out)  # refuse to leave behind a pack the engine would refuse
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="pack folder to write")
    parser.add_argument("--train-dir", type=Path, required=True, help="checkpoints and logs (resumed if present)")
    parser.add_argument("--checkpoint", type=Path, help="skip training and pack this checkpoint")
    parser.add_argument("--base-pack", default="en-latin-v1", help="pack whose recognizer the new pack carries")
    parser.add_argument("--calibration-pages", type=int, default=48, help="rendered pages that calibrate INT8")
    parser.add_argument("--selection-pages", type=int, default=48, help="held-out pages that decide INT8 or FP32")
    add_arguments(parser)
    args = parser.parse_args(argv)
    config = config_from(args)
    checkpoint = args.checkpoint or train(config, args.train_dir)
    if not args.checkpoint and not finished(args.train_dir, config):
        print(f"training stopped before step {config.steps}; run the same command again to resume")
        return
    build_pack(checkpoint, args.out, args.base_pack, calibration_count=args.calibration_pages,
               selection_count=args.selection_pages, workers=max(1, args.workers))
    print(f"pack written to {args.out}")


if __name__ == "__main__":
    main()
