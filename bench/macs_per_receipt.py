"""Multiply-accumulates per receipt for each model of a pack, and how close the engine runs to
this CPU's ceiling.

    python3 bench/macs_per_receipt.py                 # default pack, 20 SROIE-dev receipts, 2 threads

Per receipt: the detector's MACs at the page size it really runs at (``resize_for_db``), the
recognizer's over every line it really reads (its MACs grow linearly with the line's width at
the pack's height: counted at two widths, interpolated per line), the classifier's over the
lines that vote. Counted on the FP32 graphs (``compare_macs.count_macs``; INT8 copies do the
same count in another type). The engine's own stage timings on the same receipts turn the counts
into achieved MACs per second against ``compare_macs.cpu_peak``. Prints a table, writes JSON.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (str(ROOT), str(ROOT / "bench")):
    if path not in sys.path:
        sys.path.insert(0, path)

import compare_macs  # noqa: E402
from bench.results_io import write_results  # noqa: E402
from edgeocr.config import Config  # noqa: E402
from edgeocr.detect.db import resize_for_db  # noqa: E402
from edgeocr.engine import Engine  # noqa: E402
from edgeocr.evaluation import load_labelled_pages  # noqa: E402
from edgeocr.inputspec import line_width  # noqa: E402


def linear_macs(model: Path, channels: int, height: int) -> tuple[float, float]:
    """(MACs at width 0, MACs per extra column) of a line model, from counts at two widths."""
    narrow, wide = (compare_macs.count_macs(model, [1, channels, height, w]).total for w in (320, 640))
    slope = (wide - narrow) / 320
    return narrow - slope * 320, slope


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", default=None)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    base = Config()
    engine_config = dataclasses.replace(base.engine, threads=args.threads, **({"pack": args.pack} if args.pack else {}))
    engine = Engine(dataclasses.replace(base, engine=engine_config))
    pack = engine.pack
    rec_spec = pack.recognizer.input
    rec_fixed, rec_per_column = linear_macs(pack.recognizer_model("fp32" if "fp32" in pack.recognizer.variants else None),
                                            rec_spec.channels, int(rec_spec.height))
    detector = engine.detectors.get("db")
    rows = []
    for page in load_labelled_pages(limit=args.limit):
        result = engine.ocr_bytes(page.image_path.read_bytes())
        det_macs = 0
        if detector is not None:
            resized, _, _ = resize_for_db(engine_pixels(page.image_path), detector.params)
            model = pack.detector_model("fp32" if "fp32" in pack.detector.variants else None)
            det_macs = compare_macs.count_macs(model, [1, detector.spec.channels, *resized.shape[:2]]).total
        rec_macs = 0.0
        for line in result.text_lines:
            x1, y1, x2, y2 = line.box
            w, h = (x2 - x1, y2 - y1) if line.direction != "vertical" else (y2 - y1, x2 - x1)
            rec_macs += rec_fixed + rec_per_column * line_width(max(h, 1), max(w, 1), rec_spec)
        rows.append({"receipt": page.name, "lines": len(result.text_lines), "detector_macs": det_macs,
                     "recognizer_macs": rec_macs, "detect_s": result.timings["detect"],
                     "recognize_s": result.timings["recognize"]})
    _, clock, flags = compare_macs.cpu_info()
    peak = compare_macs.cpu_peak(args.threads, clock, flags)
    summary = {}
    for stage, key in (("detector", "detect_s"), ("recognizer", "recognize_s")):
        macs = statistics.median(r[f"{stage}_macs"] for r in rows)
        seconds = statistics.median(r[key] for r in rows)
        summary[stage] = {"median_macs_per_receipt": macs, "median_seconds": seconds,
                          **compare_macs.distance_to_limit(int(macs), seconds, peak)}
    lines = [f"{pack.name}, {len(rows)} SROIE-dev receipts, {args.threads} threads; peak: {peak['derivation']}", "",
             "| model | median G MACs / receipt | median s | achieved G MAC/s | share of FP32 peak | share of INT8 peak |",
             "|---|---|---|---|---|---|"]
    for stage, s in summary.items():
        lines.append(f"| {stage} | {s['median_macs_per_receipt'] / 1e9:.2f} | {s['median_seconds']:.3f} | "
                     f"{s['achieved_macs'] / 1e9:.1f} | {100 * s['share_of_fp32_peak']:.0f} % | "
                     f"{100 * s['share_of_int8_peak']:.0f} % |")
    table = "\n".join(lines)
    print(table)
    write_results(args.out, "macs_per_receipt", {"pack": pack.name, "threads": args.threads, "peak": peak,
                                                 "summary": summary, "rows": rows}, table)
    return 0


def engine_pixels(path: Path):
    import cv2

    return cv2.imread(str(path))


if __name__ == "__main__":
    sys.exit(main())
