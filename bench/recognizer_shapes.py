"""Why the zh-en recognizer is 32 px high and has a bottleneck head: measured, not guessed.

    python3 bench/recognizer_shapes.py            # about 5 minutes on 2 busy cores
    python3 bench/recognizer_shapes.py --quick    # 500 hanzi, 5 latency runs

1. Legibility: every GB2312 hanzi is drawn in two training fonts, downsampled to the glyph size
   the model sees at input height 32 and 48 (the body of a line is ~3/4 of the crop height:
   24 and 36 px), and compared with every other hanzi at that size (cosine similarity of the
   centred bitmaps). A hanzi whose nearest neighbour is more alike than ``THRESHOLD`` is one
   the backbone may not tell apart from pixels alone; the reference is the same count at 48 px.
2. Cost: untrained models of candidate shapes with the zh-en class count are exported and
   quantized exactly as a pack is, then timed on one 10h x h line (1 ORT thread) and weighed.
   Latency and size do not depend on the weights, so no training is needed for this.
Prints Markdown tables; JSON goes to bench/results/recognizer_shapes-latest.json.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from edgeocr.runtime import create_session  # noqa: E402
from edgeocr.train.charset import gb2312_hanzi, zh_en_charset  # noqa: E402
from edgeocr.train.corpus_zh import sample_zh_en_line  # noqa: E402
from edgeocr.train.export import export_onnx, quantize_int8, render_calibration_lines  # noqa: E402
from edgeocr.train.fonts import FontFace, cjk_training_fonts  # noqa: E402
from edgeocr.train.model import Crnn, CrnnShape  # noqa: E402
from edgeocr.train.profiles import get_profile  # noqa: E402
from edgeocr.train.render import font_source, load_font  # noqa: E402

THRESHOLD = 0.9
GLYPH_SIZES = {"h32": 24, "h48": 36, "reference": 48}


def glyph_matrix(chars: list[str], font: FontFace, size: int) -> np.ndarray:
    path, index = font_source(font)
    pil_font = load_font(path, 96, index)
    rows = []
    for ch in chars:
        canvas = np.zeros((112, 112), np.uint8)
        mask = pil_font.getmask(ch)
        glyph = np.asarray(mask, dtype=np.uint8).reshape(mask.size[1], mask.size[0])[:112, :112]
        canvas[: glyph.shape[0], : glyph.shape[1]] = glyph
        small = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
        small -= small.mean()
        rows.append(small / (np.linalg.norm(small) + 1e-6))
    return np.stack(rows)


def confusable(chars: list[str], font: FontFace, size: int) -> tuple[int, float, list[tuple[str, str, float]]]:
    vectors = glyph_matrix(chars, font, size)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -1.0)
    nearest = similarity.argmax(axis=1)
    best = similarity[np.arange(len(chars)), nearest]
    worst = np.argsort(-best)[:5]
    return int((best > THRESHOLD).sum()), float(np.median(best)), [(chars[i], chars[nearest[i]], round(float(best[i]), 3)) for i in worst]


def legibility(limit: int | None) -> list[dict]:
    chars = gb2312_hanzi()
    if limit:
        chars = random.Random(0).sample(chars, limit)
    faces = [f for f in cjk_training_fonts() if f.name in ("NotoSansCJK-Regular#2", "NotoSerifCJK-Regular#2", "uming")][:2]
    rows = []
    for face in faces:
        for label, size in GLYPH_SIZES.items():
            count, median, worst = confusable(chars, face, size)
            rows.append({"font": face.name, "glyph": label, "px": size, "hanzi": len(chars), "confusable": count,
                         "median_nearest": median, "closest_pairs": worst})
    return rows


def candidate_shapes() -> dict[str, CrnnShape]:
    c = get_profile("zh-en").train
    chosen = CrnnShape(c.height, tuple(c.channels), c.hidden, c.bottleneck)
    return {
        "zh-en profile (h32, bottleneck)": chosen,
        "same at h48": CrnnShape(48, chosen.channels, chosen.hidden, chosen.bottleneck),
        "no bottleneck": CrnnShape(chosen.height, chosen.channels, chosen.hidden, 0),
        "en-latin-v1 shape": CrnnShape(32, (16, 32, 64, 64, 96, 96), 96, 0),
    }


def time_session(path: Path, height: int, runs: int) -> float:
    session = create_session(path, threads=1)
    batch = np.random.default_rng(0).uniform(-1, 1, (1, 1, height, 10 * height)).astype(np.float32)
    session.run(None, {"images": batch})
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        session.run(None, {"images": batch})
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def cost(runs: int, head_modes: tuple[str, ...]) -> list[dict]:
    charset = zh_en_charset()
    fonts = cjk_training_fonts()
    rows = []
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        for name, shape in candidate_shapes().items():
            model = Crnn(len(charset) + 1, shape).eval()
            fp32 = export_onnx(model, Path(tmp) / "fp32.onnx")
            calibration = render_calibration_lines(8, 7, charset, fonts, sample_zh_en_line, shape.height)
            row = {"shape": name, "height": shape.height, "params": sum(p.numel() for p in model.parameters()),
                   "fp32_mb": fp32.stat().st_size / 1e6, "fp32_ms": time_session(fp32, shape.height, runs)}
            for head in head_modes if name.startswith("zh-en") else head_modes[:1]:
                int8 = quantize_int8(fp32, Path(tmp) / f"int8-{head}.onnx", calibration, head=head)
                row[f"int8_{head}_mb"] = int8.stat().st_size / 1e6
                row[f"int8_{head}_ms"] = time_session(int8, shape.height, runs)
            rows.append(row)
    return rows


def report(results: dict) -> str:
    out = [f"| font | glyph size | px | hanzi | nearest neighbour > {THRESHOLD} | median nearest | closest pairs |",
           "|---|---|---|---|---|---|---|"]
    for r in results["legibility"]:
        pairs = " ".join(f"{a}/{b} {s}" for a, b, s in r["closest_pairs"][:3])
        out.append(f"| {r['font']} | {r['glyph']} | {r['px']} | {r['hanzi']} | {r['confusable']} | "
                   f"{r['median_nearest']:.3f} | {pairs} |")
    out += ["", "| shape | params | FP32 MB | FP32 ms | INT8 variants (head mode: MB, ms, 1 thread, 10h x h line) |",
            "|---|---|---|---|---|"]
    for r in results["cost"]:
        variants = "; ".join(f"{k[5:-3]}: {r[k]:.2f} MB, {r[k[:-3] + '_ms']:.2f} ms" for k in r if k.startswith("int8_") and k.endswith("_mb"))
        out.append(f"| {r['shape']} (h{r['height']}) | {r['params'] / 1e6:.2f} M | {r['fp32_mb']:.2f} | {r['fp32_ms']:.2f} | {variants} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    runs = 5 if args.quick else args.runs
    results = {"threshold": THRESHOLD, "legibility": legibility(500 if args.quick else None),
               "cost": cost(runs, ("static", "dynamic", "fp32"))}
    table = report(results)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "recognizer_shapes-latest.json").write_text(json.dumps({**results, "table": table}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
