"""Detector evaluation: detection P/R/H-mean, end-to-end words and line CER, latency, FP32 vs INT8.

    python3 bench/eval_detection.py                                  # classical, SROIE-dev + rendered pages
    python3 bench/eval_detection.py --detector db --pack runs/det/pack
    python3 bench/eval_detection.py --quick                          # 10 receipts, 10 pages: a smoke run

Measures (all from ``edgeocr.evaluation``, so they match the other benchmarks):
- detection precision / recall / H-mean at IoU >= 0.5 on SROIE-dev (``../shared/eval/sroie-dev``, the box
  files are the truth) and on held-out rendered pages (evaluation fonts, a seed no training run uses);
- end-to-end word P/R/F1 and line CER on SROIE-dev through the whole engine with the pack's recognizer;
- detection latency per receipt (preprocessed page in, quadrilaterals out) at 1 and 2 threads;
- for a DB pack, every model variant (INT8 and FP32) side by side in this one process.

Timings on a shared 2-core machine are noisy: compare rows of one run, not numbers across runs.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.results_io import write_results  # noqa: E402
from edgeocr.config import Config  # noqa: E402
from edgeocr.decode import decode_image  # noqa: E402
from edgeocr.detect.db import DbDetector, DbParams  # noqa: E402
from edgeocr.engine import Engine, OcrOptions  # noqa: E402
from edgeocr.evaluation import DetectionCounts, WordCounts, line_edits, load_labelled_pages  # noqa: E402
from edgeocr.preprocess import preprocess  # noqa: E402
from edgeocr.runtime import create_session  # noqa: E402

HELD_OUT_SEED = 9_000_017  # rendered evaluation pages; training seeds stay far below this


def engine_for(args: argparse.Namespace, threads: int) -> Engine:
    base = Config()
    engine = dataclasses.replace(base.engine, threads=threads, detector=args.detector,
                                 **{k: v for k, v in (("pack", args.pack), ("models_dir", args.models_dir)) if v})
    return Engine(dataclasses.replace(base, engine=engine))


def db_overrides(pairs: list[str]) -> dict[str, float]:
    """``--db-set limit_side=1280`` style overrides of the pack's DB settings (resize policy, thresholds)."""
    known = {f.name: f.type for f in dataclasses.fields(DbParams)}
    overrides = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in known or not value:
            raise SystemExit(f"--db-set {pair}: expected KEY=VALUE with KEY one of {', '.join(known)}")
        overrides[key] = int(value) if known[key] in (int, "int") else float(value)
    return overrides


def detectors_for(engine: Engine, name: str, overrides: dict[str, float] | None = None) -> dict[str, object]:
    """The detector to evaluate, once per model variant (a DB pack may list ``variants: {fp32: ...}``)."""
    detector = engine.detectors[name]
    if name != "db":
        return {"classical": detector}
    detector.params = dataclasses.replace(detector.params, **(overrides or {}))
    found: dict[str, object] = {"default": detector}
    for variant in engine.pack.detector.variants:
        session = create_session(engine.pack.detector_model(variant), engine.threads)
        found[variant] = DbDetector(session, detector.params, detector.spec)
    return found


def gray_pages(engine: Engine, pages) -> list[np.ndarray]:
    return [preprocess(decode_image(page.image_path.read_bytes()).pixels, engine.config.preprocess, engine.colour)
            for page in pages]


class PageTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    """Give up on one page after ``seconds``: a detector that needs minutes for a receipt has failed it.

    SIGALRM interrupts pure-Python work between bytecodes, which is where a runaway detector spends it.
    """
    def expire(signum, frame):
        raise PageTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed_counts(detector, grays: list[np.ndarray], truths: list[list[np.ndarray]] | None = None,
                 timeout: float = 60.0, names: list[str] | None = None) -> tuple[DetectionCounts, dict]:
    """Detect on every page, timing each call; score against ``truths`` when given.

    A page over ``timeout`` seconds counts as detecting nothing and is timed at the limit.
    """
    detector.detect(grays[0])  # warm-up: first-run graph work stays out of the numbers
    counts, times, timed_out = DetectionCounts(), [], []
    for index, gray in enumerate(grays):
        started = time.perf_counter()
        try:
            with time_limit(timeout):
                found = detector.detect(gray)
        except PageTimeout:
            found = []
            timed_out.append(names[index] if names else str(index))
        times.append((time.perf_counter() - started) * 1000)
        if truths is not None:
            counts.add([line.quad for line in found], truths[index])
    latency = {"p50_ms": float(np.percentile(times, 50)), "p90_ms": float(np.percentile(times, 90)),
               "max_ms": max(times), "mean_ms": statistics.mean(times), "pages": len(times),
               "timed_out": timed_out}
    return counts, latency


def end_to_end(engine: Engine, pages, detector: str, timeout: float = 60.0) -> dict:
    words, edits, chars, totals, timed_out = WordCounts(), 0, 0, [], []
    for page in pages:
        started = time.perf_counter()
        try:
            with time_limit(timeout):
                predicted = [line.text for line in engine.ocr_bytes(page.image_path.read_bytes(),
                                                                    OcrOptions(detector=detector)).text_lines]
        except PageTimeout:
            predicted = []
            timed_out.append(page.name)
        totals.append(time.perf_counter() - started)
        truth = [line.text for line in page.lines]
        words.add(predicted, truth)
        e, c = line_edits(predicted, truth)
        edits, chars = edits + e, chars + c
    return {"word_precision": words.precision, "word_recall": words.recall, "word_f1": words.f1,
            "line_cer": edits / max(chars, 1), "pipeline_p50_s": float(np.percentile(totals, 50)),
            "pipeline_mean_s": statistics.mean(totals), "timed_out": timed_out}


def rendered_truth(count: int) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Held-out pages in the evaluation fonts (never trained on), drawn by the training page renderer."""
    from edgeocr.train.fonts import latin_eval_fonts
    from edgeocr.train.pages import render_page

    fonts = latin_eval_fonts()
    pages = [render_page(HELD_OUT_SEED, index, fonts) for index in range(count)]
    return [page.image for page in pages], [list(page.quads) for page in pages]


def counts_row(counts: DetectionCounts) -> dict:
    return {"precision": counts.precision, "recall": counts.recall, "hmean": counts.hmean,
            "matched": counts.matched, "predicted": counts.predicted, "truth": counts.truth}


def report(results: dict) -> str:
    out = [f"detector {results['detector']}, pack {results['pack']}, {results['receipts']} SROIE-dev receipts, "
           f"{results['rendered_pages']} rendered pages", "",
           "| variant | set | P | R | H-mean | det p50 ms 1 thr | det p50 ms 2 thr | det p90 / max ms 2 thr |",
           "|---|---|---|---|---|---|---|---|"]
    for variant, row in results["variants"].items():
        for name in ("sroie", "rendered"):
            if name in row:
                d, lat = row[name], row["latency"]
                timing = (f"{lat[1]['p50_ms']:.1f} | {lat[2]['p50_ms']:.1f} | {lat[2]['p90_ms']:.0f} / {lat[2]['max_ms']:.0f}"
                          if name == "sroie" else "- | - | -")  # timed on receipts only
                out.append(f"| {variant} | {name} | {d['precision']:.3f} | {d['recall']:.3f} | {d['hmean']:.3f} | {timing} |")
    e = results["end_to_end"]
    out += ["", "| end to end (SROIE-dev, 2 threads) | word P | word R | word F1 | line CER | pipeline p50 s |",
            "|---|---|---|---|---|---|",
            f"| {results['detector']} + {results['pack']} recognizer | {e['word_precision']:.3f} | {e['word_recall']:.3f} | "
            f"{e['word_f1']:.3f} | {e['line_cer'] * 100:.2f} % | {e['pipeline_p50_s']:.3f} |"]
    timeouts = {f"{v} {k}": row[k]["timed_out"] if k == "rendered" else row["latency"][2]["timed_out"]
                for v, row in results["variants"].items() for k in ("sroie", "rendered") if k in row}
    timeouts["end to end"] = e["timed_out"]
    if any(timeouts.values()):
        out += ["", f"pages over the {results['page_timeout_s']:.0f} s limit (counted as nothing found): "
                + "; ".join(f"{k}: {', '.join(v)}" for k, v in timeouts.items() if v)]
    if results.get("model_bytes"):
        out += ["", "model files: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in results["model_bytes"].items())]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", choices=("classical", "db"), default="classical")
    parser.add_argument("--pack", default=None, help="pack name or folder (default: the configured one)")
    parser.add_argument("--models-dir", default=None)
    parser.add_argument("--sroie", type=Path, default=None, help="SROIE-layout folder (default: shared/eval/sroie-dev)")
    parser.add_argument("--receipts", type=int, default=None, help="at most this many receipts (default: all)")
    parser.add_argument("--rendered", type=int, default=100, help="held-out rendered pages (0: skip)")
    parser.add_argument("--latency-pages", type=int, default=30, help="receipts timed again at one thread")
    parser.add_argument("--db-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a DbParams setting of the pack, e.g. limit_side=1280 (repeatable)")
    parser.add_argument("--page-timeout", type=float, default=60.0,
                        help="seconds per page before it counts as nothing found (listed as timed out)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--quick", action="store_true", help="10 receipts and 10 rendered pages: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.receipts, args.rendered, args.latency_pages = 10, min(args.rendered, 10), 5
    pages = load_labelled_pages(args.sroie, limit=args.receipts)
    engines = {threads: engine_for(args, threads) for threads in (1, 2)}
    engine = engines[2]
    grays = gray_pages(engine, pages)
    truths = [[line.quad for line in page.lines] for page in pages]
    rendered = rendered_truth(args.rendered) if args.rendered else None

    results = {"detector": args.detector, "page_timeout_s": args.page_timeout, "latency_pages_1_thread": min(args.latency_pages, len(pages)), "pack": f"{engine.pack.name} {engine.pack.version}", "receipts": len(pages),
               "rendered_pages": args.rendered, "cpu_count": os.cpu_count(), "variants": {}}
    overrides = db_overrides(args.db_set)
    results["db_overrides"] = overrides
    per_thread = {threads: detectors_for(e, args.detector, overrides) for threads, e in engines.items()}
    for variant, detector in per_thread[2].items():
        # Two threads: every receipt is timed while it is scored; one thread: the first few, timed only.
        names = [page.name for page in pages]
        counts, two = timed_counts(detector, grays, truths, args.page_timeout, names)
        _, one = timed_counts(per_thread[1][variant], grays[: args.latency_pages], None, args.page_timeout, names)
        row = {"sroie": counts_row(counts), "latency": {1: one, 2: two}}
        if rendered:
            rendered_counts, rendered_latency = timed_counts(detector, rendered[0], rendered[1], args.page_timeout)
            row["rendered"] = {**counts_row(rendered_counts), "timed_out": rendered_latency["timed_out"]}
        results["variants"][variant] = row
    results["end_to_end"] = end_to_end(engine, pages, args.detector, args.page_timeout)
    if args.detector == "db":
        results["model_bytes"] = {name: engine.pack.path(name).stat().st_size for name in engine.pack.files
                                  if name.startswith("det")}
    table = report(results)
    print(table)
    write_results(args.out, f"eval_detection-{args.detector}", results, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
