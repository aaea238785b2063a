"""Recognizer evaluation, INT8 and FP32 side by side: accuracy, latency, file size.

    python3 bench/eval_recognizer.py                      # the default pack, ~10 minutes on 2 cores
    python3 bench/eval_recognizer.py --quick              # smoke run: 40 lines a set, 5 receipts
    python3 bench/eval_recognizer.py --pack PATH_OR_NAME --lines 500 --pages 100

Accuracy (line accuracy = exact lines; CER = total edits / total truth characters):
- (a) chinese, (b) english, (c) mixed, (d) numeric: ``bench/evalsets.py`` lines, rendered only in the
  fonts reserved for evaluation (AR PL UKai, LXGW WenKai), mildly degraded, seed 2026;
- (e) sroie: every ground-truth box of the real SROIE-dev receipts (``../shared/eval/sroie-dev``)
  cut out with a perspective crop (``edgeocr.geometry.crop_quad``) and read alone; compared
  case-insensitively with runs of spaces collapsed.
A pack without hanzi in its charset scores ~100 % CER on (a): that is the honest number.

Latency: one line at the 32x320-equivalent size (height x 10*height) recognized alone, and the
45 lines of a typical receipt in batches of 16, at 1 and 2 ONNX Runtime threads, both variants,
measured back to back in this process. Prints a Markdown table; JSON goes to bench/results/.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.evalsets import KINDS, render_eval_set  # noqa: E402
from bench.linetiming import time_recognizer  # noqa: E402
from bench.results_io import write_results  # noqa: E402
from edgeocr.evaluation import load_labelled_pages  # noqa: E402
from edgeocr.geometry import crop_quad  # noqa: E402
from edgeocr.metrics import edit_distance  # noqa: E402
from edgeocr.packs import find_pack_dir, load_pack  # noqa: E402
from edgeocr.recognize import Recognizer  # noqa: E402
from edgeocr.registry import build_recognizer  # noqa: E402
from edgeocr.runtime import create_session  # noqa: E402
from edgeocr.train.fonts import cjk_eval_fonts  # noqa: E402
from edgeocr.train.render import Degradation, render_line  # noqa: E402

VARIANTS = {"int8": None, "fp32": "fp32"}
LATENCY_TEXT = "合计 Total ¥128.50 2024年3月5日"


def recognizer_for(pack, variant: str | None, threads: int) -> Recognizer:
    return build_recognizer(pack, threads, variant)


def score(predictions: list[str], truths: list[str]) -> dict:
    edits = sum(edit_distance(p, t) for p, t in zip(predictions, truths))
    chars = sum(len(t) for t in truths)
    return {"lines": len(truths), "cer": edits / max(chars, 1),
            "line_accuracy": sum(p == t for p, t in zip(predictions, truths)) / max(len(truths), 1)}


def _casefold(text: str) -> str:
    return " ".join(text.split()).upper()


def sroie_crops(pages: int | None) -> list[tuple[np.ndarray, str]]:
    crops = []
    for page in load_labelled_pages(limit=pages):
        gray = cv2.imread(str(page.image_path), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            continue
        for line in page.lines:
            text = _casefold(line.text)
            if not text:
                continue
            crop = crop_quad(gray, line.quad)
            if crop.shape[0] >= 4 and crop.shape[1] >= 4:
                crops.append((crop, text))
    return crops


def evaluate_sets(recognizers: dict[str, Recognizer], lines: int, pages: int | None, examples: int = 3) -> list[dict]:
    rows = []
    sets = {kind: render_eval_set(kind, lines) for kind in KINDS}
    try:
        sets["sroie"] = sroie_crops(pages)
    except (FileNotFoundError, OSError) as exc:
        print(f"SROIE-dev not available ({exc}); skipping set (e)", file=sys.stderr)
    for name, data in sets.items():
        images, truths = [image for image, _ in data], [text for _, text in data]
        for variant, recognizer in recognizers.items():
            predictions = [r.text for r in recognizer.recognize(images, 16)]
            if name == "sroie":
                predictions = [_casefold(p) for p in predictions]
            row = {"set": name, "variant": variant, **score(predictions, truths)}
            row["examples"] = [{"truth": t, "read": p} for p, t in list(zip(predictions, truths))[:examples]]
            rows.append(row)
    return rows


def latency_line(height: int) -> np.ndarray:
    """The 32x320 yardstick scaled to the model's height: height x 10*height, ~20 characters."""
    font = cjk_eval_fonts()[0]
    crop = render_line(LATENCY_TEXT, font, random.Random("eval_recognizer:latency"), height, Degradation(0.0))
    width = 10 * height
    crop = cv2.resize(crop, (min(width, crop.shape[1]), height))
    return np.pad(crop, ((0, 0), (0, width - crop.shape[1])), mode="edge")


def measure_latency(pack, runs: int) -> list[dict]:
    rows = []
    for threads in (1, 2):
        for variant, key in VARIANTS.items():
            recognizer = recognizer_for(pack, key, threads)
            line = latency_line(recognizer.settings.height)
            single, batched = time_recognizer(recognizer, line, runs, 45, max(3, runs // 5))
            rows.append({"variant": variant, "threads": threads, "line_p50_ms": statistics.median(single) * 1000,
                         "receipt45_p50_ms": statistics.median(batched) * 1000})
    return rows


def report(results: dict) -> str:
    out = [f"recognizer of pack {results['pack']} ({results['classes']} classes, height {results['height']})", "",
           "| set | variant | lines | CER | line accuracy |", "|---|---|---|---|---|"]
    for r in results["accuracy"]:
        out.append(f"| {r['set']} | {r['variant']} | {r['lines']} | {r['cer'] * 100:.2f} % | {r['line_accuracy'] * 100:.1f} % |")
    out += ["", "| variant | threads | one line (10h x h) p50 ms | 45 lines batched p50 ms |", "|---|---|---|---|"]
    for r in results["latency"]:
        out.append(f"| {r['variant']} | {r['threads']} | {r['line_p50_ms']:.2f} | {r['receipt45_p50_ms']:.1f} |")
    sizes = results["model_bytes"]
    out += ["", "model files: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sizes.items())]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", default="en-latin-v1", help="pack name or folder")
    parser.add_argument("--models-dir", default=None)
    parser.add_argument("--lines", type=int, default=300, help="lines per rendered set")
    parser.add_argument("--pages", type=int, default=None, help="SROIE-dev pages (default: all)")
    parser.add_argument("--runs", type=int, default=30, help="latency repetitions")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--quick", action="store_true", help="40 lines a set, 5 receipts, 5 runs: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.lines, args.pages, args.runs = 40, 5, 5
    pack = load_pack(find_pack_dir(args.pack, args.models_dir))
    recognizers = {variant: recognizer_for(pack, key, 2) for variant, key in VARIANTS.items()}
    results = {"pack": f"{pack.name} {pack.version}", "classes": len(pack.charset()) + 1,
               "height": pack.recognizer.input_height, "lines_per_set": args.lines, "sroie_pages": args.pages,
               "model_bytes": {v: pack.recognizer_model(k).stat().st_size for v, k in VARIANTS.items()}}
    results["accuracy"] = evaluate_sets(recognizers, args.lines, args.pages)
    results["latency"] = measure_latency(pack, args.runs)
    table = report(results)
    print(table)
    write_results(args.out, f"eval_recognizer-{pack.name}", results, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
