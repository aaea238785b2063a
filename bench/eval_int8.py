"""Which copy of each model ships: FP32 and every INT8 variant a pack lists, one model at a time.

    python3 bench/eval_int8.py                          # the default pack, all of SROIE-dev
    python3 bench/eval_int8.py --limit 30 --lines 100   # quicker

For each model of the pack (detector, recognizer, classifier) and each of its variants, the whole
engine runs with that variant and every other model at FP32, in this one process and at the same
thread count: SROIE-dev word F1 and line CER (``../shared/eval/sroie-dev``), reserved-font line
CER for recognizer variants (``bench/evalsets.py``), the stage's p50 time per receipt, and the
file size. A variant qualifies when it is within ``--tolerance`` (0.3 points) of FP32 on word F1
and on line CER; the fastest qualifying one is the pick. The table goes to stdout and to
``bench/int8-results.md``; the numbers to ``bench/results/eval_int8-*.json``.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results_io import write_results  # noqa: E402
from edgeocr.config import Config  # noqa: E402
from edgeocr.engine import Engine  # noqa: E402
from edgeocr.evaluation import WordCounts, line_edits, load_labelled_pages  # noqa: E402
from edgeocr.metrics import edit_distance  # noqa: E402

STAGE = {"detector": "detect", "recognizer": "recognize", "classifier": "recognize"}


def engine_with(pack: str | None, threads: int, **variants: str | None) -> Engine:
    base = Config()
    engine = dataclasses.replace(base.engine, threads=threads, **({"pack": pack} if pack else {}))
    return Engine(dataclasses.replace(base, engine=engine), recognizer_variant=variants.get("recognizer"),
                  detector_variant=variants.get("detector"), classifier_variant=variants.get("classifier"))


class Tally:
    """One engine's running counts over the receipts."""

    def __init__(self) -> None:
        self.words, self.edits, self.chars = WordCounts(), 0, 0
        self.stage_times: dict[str, list[float]] = {"detect": [], "recognize": []}
        self.totals: list[float] = []

    def add(self, engine: Engine, page):
        """Read ``page`` with ``engine``, count it, and return the result."""
        started = time.perf_counter()
        result = engine.ocr_bytes(page.image_path.read_bytes())
        self.totals.append(time.perf_counter() - started)
        for stage in self.stage_times:
            self.stage_times[stage].append(result.timings.get(stage, 0.0))
        predicted = [line.text for line in result.text_lines]
        truth = [line.text for line in page.lines]
        self.words.add(predicted, truth)
        e, c = line_edits(predicted, truth)
        self.edits, self.chars = self.edits + e, self.chars + c
        return result

    def summary(self) -> dict:
        return {"word_f1": self.words.f1, "line_cer": self.edits / max(self.chars, 1),
                "p50_s": statistics.median(self.totals),
                **{f"{stage}_p50_s": statistics.median(ts) for stage, ts in self.stage_times.items()}}


def read_in_turn(engines: list[Engine], tallies: list[Tally], pages) -> None:
    """After one warm-up each, every engine reads each receipt in turn, so a change in the
    machine's load falls on all of them alike: their times compare within one receipt."""
    for engine in engines:
        engine.ocr_bytes(pages[0].image_path.read_bytes())
    for number, page in enumerate(pages, 1):
        for engine, tally in zip(engines, tallies):
            tally.add(engine, page)
        if number % 10 == 0:
            print(f"  {number}/{len(pages)} receipts", flush=True)


def run_lines(engine: Engine, line_sets: dict) -> dict:
    out = {}
    for kind, lines in line_sets.items():
        texts = engine.read_lines([image for image, _ in lines])
        edits = sum(edit_distance(t.text.strip(), truth) for t, (_, truth) in zip(texts, lines))
        loose = sum(edit_distance("".join(t.text.split()), "".join(truth.split())) for t, (_, truth) in zip(texts, lines))
        out[f"{kind}_cer"] = edits / max(sum(len(truth) for _, truth in lines), 1)
        out[f"{kind}_cer_nospace"] = loose / max(sum(len("".join(truth.split())) for _, truth in lines), 1)
    return out


def candidates(pack) -> list[tuple[str, str, dict]]:
    """(model, variant, variants for every model) for FP32 everywhere, then one change at a time."""
    parts = {"detector": pack.detector.variants, "recognizer": pack.recognizer.variants,
             "classifier": pack.classifier.variants if pack.classifier else {}}
    fp32 = {part: ("fp32" if "fp32" in variants else None) for part, variants in parts.items()}
    rows = [("all", "fp32", fp32)]
    for part, variants in parts.items():
        rows += [(part, variant, {**fp32, part: variant}) for variant in variants if variant != "fp32"]
    return rows


def variant_rows(args, pages, line_sets) -> list[dict]:
    """Every candidate engine reads each receipt in turn, so a change in the machine's load falls
    on all of them alike (these machines are shared): the times compare within one receipt."""
    pack = engine_with(args.pack, args.threads).pack
    shipped = ("shipped", "default", {"detector": None, "recognizer": None, "classifier": None})
    plan = candidates(pack) + [shipped]
    engines = [engine_with(args.pack, args.threads, **chosen) for _, _, chosen in plan]
    tallies = [Tally() for _ in plan]
    read_in_turn(engines, tallies, pages)
    rows = []
    for (part, variant, chosen), engine, tally in zip(plan, engines, tallies):
        file = "" if part in ("all", "shipped") else getattr(pack, part).variants[variant]
        row = {"model": part, "variant": variant, "variants": chosen, "file": file,
               "size_mb": pack.path(file).stat().st_size / 1e6 if file else None, **tally.summary()}
        if part in ("all", "recognizer", "shipped"):
            row.update(run_lines(engine, line_sets))
        print(f"  {part:10} {variant:12} F1 {row['word_f1']:.4f}  CER {row['line_cer']:.4f}  "
              f"p50 {row['p50_s']:.3f} s", flush=True)
        rows.append(row)
    return rows


def picks(rows: list[dict], tolerance: float) -> dict[str, str]:
    chosen = {}
    fp32 = next(r for r in rows if r["model"] == "all")
    for part in dict.fromkeys(r["model"] for r in rows if r["model"] not in ("all", "shipped")):
        own = [{**fp32, "model": part}] + [r for r in rows if r["model"] == part]
        good = [r for r in own if r["word_f1"] >= fp32["word_f1"] - tolerance
                and r["line_cer"] <= fp32["line_cer"] + tolerance]
        stage = STAGE[part] + "_p50_s"
        chosen[part] = min(good, key=lambda r: r[stage])["variant"]
    return chosen


def table(rows: list[dict], chosen: dict[str, str], receipts: int, threads: int) -> str:
    kinds = sorted({k[:-4] for r in rows for k in r if k.endswith("_cer") and k != "line_cer"})
    head = ["model", "variant", "MB", "word F1", "line CER", "det p50 s", "rec p50 s", "page p50 s",
            *[f"{k} CER (no spaces)" for k in kinds], "ships"]
    lines = [f"SROIE-dev, {receipts} receipts, {threads} threads; every engine reads each receipt in turn, in one "
             "process. Rows change one model from FP32 (`all fp32`); `shipped` is the pack's default. Line sets: "
             "bench/evalsets.py, reserved fonts.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r["model"] == "all":
            ships = ", ".join(part for part, variant in chosen.items() if variant == "fp32")
        else:
            ships = "yes" if chosen.get(r["model"]) == r["variant"] else ""
        cells = [r["model"], r["variant"], "" if r["size_mb"] is None else f"{r['size_mb']:.1f}",
                 f"{r['word_f1']:.4f}", f"{100 * r['line_cer']:.2f} %",
                 f"{r['detect_p50_s']:.3f}", f"{r['recognize_p50_s']:.3f}", f"{r['p50_s']:.3f}",
                 *[f"{100 * r[k + '_cer']:.2f} % ({100 * r[k + '_cer_nospace']:.2f} %)" if k + "_cer" in r else ""
                   for k in kinds], ships]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", help="pack name or folder (default: the configured default pack)")
    parser.add_argument("--limit", type=int, help="only the first N receipts")
    parser.add_argument("--lines", type=int, default=200, help="reserved-font lines per kind for recognizers")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=0.003, help="allowed loss on word F1 and line CER")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--markdown", type=Path, default=ROOT / "bench" / "int8-results.md")
    args = parser.parse_args(argv)
    pages = load_labelled_pages(limit=args.limit)
    line_sets = {}
    if args.lines:
        from bench.evalsets import render_eval_set
        line_sets = {kind: render_eval_set(kind, args.lines) for kind in ("chinese", "english", "mixed")}
    rows = variant_rows(args, pages, line_sets)
    chosen = picks(rows, args.tolerance)
    text = table(rows, chosen, len(pages), args.threads)
    print(text)
    command = "python3 bench/eval_int8.py" + "".join(f" --{k} {v}" for k, v in (("limit", args.limit), ("lines", args.lines)) if v)
    args.markdown.write_text(f"# INT8 variants\n\n`{command}`\n\n{text}\n\nPicks: {chosen}\n", encoding="utf-8")
    write_results(args.out, "eval_int8", {"rows": rows, "picks": chosen, "receipts": len(pages), "threads": args.threads}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
