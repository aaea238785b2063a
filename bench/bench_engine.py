"""Engine benchmark: page latency, per-line latency at 1 and 2 threads, RSS, INT8 vs FP32.

    python3 bench/bench_engine.py            # full run, about 5 minutes on 2 cores
    python3 bench/bench_engine.py --quick    # smoke run

Everything compared is measured in this one process, back to back, because the machines this
runs on are shared and noisy: read the INT8/FP32 ratio, not the absolute figures, across runs.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402

from edgeocr.config import Config, EngineConfig  # noqa: E402
from edgeocr.engine import Engine  # noqa: E402
from edgeocr.train.corpus import sample_english_line  # noqa: E402
from edgeocr.train.fonts import latin_eval_fonts  # noqa: E402
from edgeocr.train.render import Degradation, render_line  # noqa: E402
from edgeocr.metrics import edit_distance  # noqa: E402
from tests.rendering import encode, render_lines  # noqa: E402
from bench.linetiming import time_recognizer  # noqa: E402
from bench.results_io import write_results  # noqa: E402

PAGE = [
    "CORNER CAFE & BAKERY", "12 Market Street, Springfield", "Tel: (555) 010-2233",
    "Date: 2024-03-15 09:42", "Invoice No. INV0012345", "Latte 2 x 4.50 9.00", "Croissant 3.20",
    "Subtotal 12.20", "TOTAL 12.20", "Thank you for your visit!",
]
VARIANTS = {"int8": None, "fp32": "fp32"}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> dict:
    flags, model = set(), "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name") and model == "unknown":
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            flags |= set(line.split(":", 1)[1].split())
    return {"cpu": model, "cores": os.cpu_count(), "onnxruntime": onnxruntime.__version__,
            "python": platform.python_version(), "avx2": "avx2" in flags,
            "avx512_vnni": "avx512_vnni" in flags, "avx_vnni": "avx_vnni" in flags}


def engine_for(base: Config, threads: int, variant: str | None) -> Engine:
    return Engine(dataclasses.replace(base, engine=dataclasses.replace(base.engine, threads=threads)), variant)


def bench_page(base: Config, runs: int) -> list[dict]:
    """Whole pipeline on a rendered 10-line page: decode to result."""
    data = encode(render_lines(PAGE, font_size=28, line_gap=0.5))
    rows = []
    for threads in (1, 2):
        engine = engine_for(base, threads, None)
        engine.ocr_bytes(data)  # warm-up: first-run graph work stays out of the numbers
        times, stages, read = [], {}, 0
        for _ in range(runs):
            started = time.perf_counter()
            result = engine.ocr_bytes(data)
            times.append(time.perf_counter() - started)
            for stage, seconds in result.timings.items():
                stages.setdefault(stage, []).append(seconds)
            read = sum(a.text == b for a, b in zip(result.text_lines, PAGE))
        rows.append({"threads": threads, "p50_ms": percentile(times, 50) * 1000, "p90_ms": percentile(times, 90) * 1000,
                     "stages_ms": {k: statistics.mean(v) * 1000 for k, v in stages.items()},
                     "lines_exact": read, "lines_total": len(PAGE)})
    return rows


def line_crop(height: int, width: int = 320) -> np.ndarray:
    """A ~20-character rendered line, exactly ``height`` x ``width`` (the usual 32x320 yardstick)."""
    rng = random.Random("bench:line")
    crop = render_line("Invoice 2024-0117 $12", latin_eval_fonts()[0], rng, height, Degradation(0.0))
    crop = cv2.resize(crop, (min(width, crop.shape[1]), height))
    return np.pad(crop, ((0, 0), (0, width - crop.shape[1])), mode="edge")


def bench_lines(base: Config, runs: int) -> list[dict]:
    rows = []
    for threads in (1, 2):
        for name, variant in VARIANTS.items():
            engine = engine_for(base, threads, variant)
            crop = line_crop(engine.recognizer.settings.height)
            # A typical receipt has about 45 lines.
            single, batched = time_recognizer(engine.recognizer, crop, runs, 45, max(3, runs // 5))
            rows.append({"variant": name, "threads": threads, "line_p50_ms": percentile(single, 50) * 1000,
                         "receipt45_p50_ms": percentile(batched, 50) * 1000,
                         "batched_ms_per_line": percentile(batched, 50) * 1000 / 45})
    return rows


def held_out_lines(count: int, height: int, charset: list[str]) -> list[tuple[np.ndarray, str, float]]:
    """Held-out text in fonts never used for training; the first third clean, the rest degraded."""
    fonts = latin_eval_fonts()
    lines = []
    for index in range(count):
        rng = random.Random(f"bench:{index}")
        text = sample_english_line(rng, charset)
        strength = 0.0 if index < count // 3 else rng.uniform(0.0, 1.0)
        lines.append((render_line(text, rng.choice(fonts), rng, height, Degradation(strength)), text, strength))
    return lines


def bench_accuracy(base: Config, count: int) -> list[dict]:
    rows = []
    lines = None
    for name, variant in VARIANTS.items():
        engine = engine_for(base, 2, variant)
        if lines is None:
            lines = held_out_lines(count, engine.recognizer.settings.height, engine.recognizer.charset)
        started = time.perf_counter()
        decoded = engine.recognizer.recognize([crop for crop, _, _ in lines], 16)
        elapsed = time.perf_counter() - started
        for subset, keep in (("all", lambda s: True), ("clean", lambda s: s == 0.0), ("degraded", lambda s: s > 0.0)):
            pairs = [(d.text, t) for d, (_, t, s) in zip(decoded, lines) if keep(s)]
            edits = sum(edit_distance(p, t) for p, t in pairs)
            chars = sum(len(t) for _, t in pairs)
            rows.append({"variant": name, "subset": subset, "lines": len(pairs), "cer": edits / max(chars, 1),
                         "line_accuracy": sum(p == t for p, t in pairs) / max(len(pairs), 1),
                         "ms_per_line_batched": elapsed * 1000 / len(lines)})
    return rows


def report(results: dict) -> str:
    out = [f"edgeocr {results['pack']} on {results['machine']['cpu']} ({results['machine']['cores']} cores), "
           f"onnxruntime {results['machine']['onnxruntime']}", "",
           "| page (10 lines) | p50 ms | p90 ms | detect ms | recognize ms | lines read exactly |", "|---|---|---|---|---|---|"]
    for r in results["page"]:
        out.append(f"| {r['threads']} thread(s) | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['stages_ms']['detect']:.1f} | "
                   f"{r['stages_ms']['recognize']:.1f} | {r['lines_exact']}/{r['lines_total']} |")
    out += ["", "| recognizer | threads | one 32x320 line p50 ms | 45 lines batched p50 ms | ms/line batched |", "|---|---|---|---|---|"]
    for r in results["lines"]:
        out.append(f"| {r['variant']} | {r['threads']} | {r['line_p50_ms']:.2f} | {r['receipt45_p50_ms']:.1f} | {r['batched_ms_per_line']:.2f} |")
    out += ["", "| recognizer | held-out lines | n | CER | line accuracy |", "|---|---|---|---|---|"]
    for r in results["accuracy"]:
        out.append(f"| {r['variant']} | {r['subset']} | {r['lines']} | {r['cer'] * 100:.2f} % | {r['line_accuracy'] * 100:.1f} % |")
    sizes = results["model_bytes"]
    out += ["", f"model files: int8 {sizes['int8'] / 1e6:.2f} MB, fp32 {sizes['fp32'] / 1e6:.2f} MB; "
            f"RSS after first engine {results['rss_after_load_mib']:.0f} MiB, peak RSS {results['peak_rss_mib']:.0f} MiB"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", default=None, help="pack name or folder (default: the configured one)")
    parser.add_argument("--models-dir", default=None)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--lines", type=int, default=300, help="held-out lines for the accuracy table")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--quick", action="store_true", help="3 runs and 30 lines: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.lines = 3, 30
    engine_config = EngineConfig(**{k: v for k, v in (("pack", args.pack), ("models_dir", args.models_dir)) if v})
    base = Config(engine=engine_config)
    first = engine_for(base, 2, None)
    results = {"pack": f"{first.pack.name} {first.pack.version}", "machine": machine(), "rss_after_load_mib": rss_mib(),
               "model_bytes": {name: first.pack.recognizer_model(v).stat().st_size for name, v in VARIANTS.items()},
               "runs": args.runs}
    results["page"] = bench_page(base, args.runs)
    results["lines"] = bench_lines(base, args.runs)
    results["accuracy"] = bench_accuracy(base, args.lines)
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = report(results)
    print(table)
    write_results(args.out, "bench_engine", results, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
