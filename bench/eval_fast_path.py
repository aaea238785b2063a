"""The fast path on and off, in one run: SROIE-dev receipts, reserved-font lines, the CRNN alone.

    python3 bench/eval_fast_path.py                         # 100 receipts, 300 lines a set, 1 and 2 threads
    python3 bench/eval_fast_path.py --limit 20 --lines 100  # quicker

- Receipts (``../shared/eval/sroie-dev``): the default pack with ``engine.fast_path`` off and on, at
  1 and 2 threads; the four engines read each receipt in turn, so load on this shared machine falls
  on all alike. Word F1, line CER (``edgeocr.evaluation``), the share of lines the fast pack read,
  and the p50 of the recognition stage and of the whole pipeline per receipt.
- Lines (``bench/evalsets.py``, rendered only in the reserved evaluation fonts): CER of the
  accurate recognizer alone and of the cascade, and the share the fast pack took (Chinese lines
  must stay with the accurate recognizer).
- The fast pack alone, INT8, on every SROIE-dev ground-truth box (as ``bench/eval_recognizer.py``
  set (e)), beside en-latin-v1, and its file size.

Prints a Markdown table (also ``bench/fast-path-results.md``); JSON to ``bench/results/``.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_int8 import Tally, read_in_turn  # noqa: E402
from bench.eval_recognizer import _casefold, score, sroie_crops  # noqa: E402
from bench.evalsets import KINDS, render_eval_set  # noqa: E402
from bench.results_io import write_results  # noqa: E402
from edgeocr.config import Config  # noqa: E402
from edgeocr.engine import Engine  # noqa: E402
from edgeocr.evaluation import load_labelled_pages  # noqa: E402
from edgeocr.metrics import edit_distance  # noqa: E402
from edgeocr.packs import find_pack_dir, load_pack  # noqa: E402
from edgeocr.registry import build_recognizer  # noqa: E402


def engine_for(threads: int, fast_path: bool, fast_pack: str) -> Engine:
    base = Config()
    engine = dataclasses.replace(base.engine, threads=threads, fast_path=fast_path, fast_path_pack=fast_pack)
    return Engine(dataclasses.replace(base, engine=engine))


class FastTally(Tally):
    """eval_int8's per-engine counts, plus how many lines the fast pack read."""

    def __init__(self, fast_name: str) -> None:
        super().__init__()
        self.fast_name, self.lines, self.fast_lines = fast_name, 0, 0

    def add(self, engine: Engine, page):
        result = super().add(engine, page)
        self.lines += len(result.text_lines)
        self.fast_lines += sum(line.recognizer == self.fast_name for line in result.text_lines)
        return result

    def summary(self) -> dict:
        return {**super().summary(), "fast_share": self.fast_lines / max(self.lines, 1)}


def receipts(pages, threads_list: list[int], fast_pack: str) -> list[dict]:
    plan = [(threads, on) for threads in threads_list for on in (False, True)]
    engines = [engine_for(threads, on, fast_pack) for threads, on in plan]
    fast_name = load_pack(find_pack_dir(fast_pack)).name
    tallies = [FastTally(fast_name) for _ in plan]
    read_in_turn(engines, tallies, pages)
    return [{"threads": threads, "fast_path": on, **tally.summary()} for (threads, on), tally in zip(plan, tallies)]


def line_sets(count: int, fast_pack: str) -> list[dict]:
    rows = []
    off, on = engine_for(2, False, fast_pack), engine_for(2, True, fast_pack)
    fast_name = on.fast_pack.name
    for kind in KINDS:
        data = render_eval_set(kind, count)
        images, truths = [image for image, _ in data], [text for _, text in data]
        row = {"set": kind, "lines": len(data)}
        for label, engine in (("off", off), ("on", on)):
            texts = engine.read_lines(images)
            reads = [t.text.strip() for t in texts]
            row[f"{label}_cer"] = sum(edit_distance(r, t) for r, t in zip(reads, truths)) / max(sum(map(len, truths)), 1)
            if label == "on":
                row["fast_share"] = sum(t.reader == fast_name for t in texts) / max(len(texts), 1)
        rows.append(row)
    return rows


def alone_on_sroie(pages: int | None, packs: list[str]) -> list[dict]:
    crops = sroie_crops(pages)
    images, truths = [c for c, _ in crops], [t for _, t in crops]
    rows = []
    for name in packs:
        pack = load_pack(find_pack_dir(name))
        recognizer = build_recognizer(pack, 2)
        reads = [_casefold(t.text) for t in recognizer.recognize(images, 16)]
        rows.append({"pack": pack.name, "size_mb": pack.recognizer_model().stat().st_size / 1e6, **score(reads, truths)})
    return rows


def report(results: dict) -> str:
    out = [f"fast path ({results['fast_pack']}) before {results['pack']}, {results['receipts']} SROIE-dev receipts", "",
           "| threads | fast path | word F1 | line CER | lines read by the fast pack | recognize p50 s | pipeline p50 s |",
           "|---|---|---|---|---|---|---|"]
    for r in results["receipts_rows"]:
        out.append(f"| {r['threads']} | {'on' if r['fast_path'] else 'off'} | {r['word_f1']:.4f} | "
                   f"{r['line_cer'] * 100:.2f} % | {r['fast_share'] * 100:.1f} % | {r['recognize_p50_s']:.3f} | {r['p50_s']:.3f} |")
    for threads in sorted({r["threads"] for r in results["receipts_rows"]}):
        off, on = (next(r for r in results["receipts_rows"] if r["threads"] == threads and r["fast_path"] is v)
                   for v in (False, True))
        out.append(f"\n{threads} thread(s): pipeline p50 on/off = {on['p50_s'] / off['p50_s']:.2f}, recognize "
                   f"{on['recognize_p50_s'] / off['recognize_p50_s']:.2f}; F1 {on['word_f1'] - off['word_f1']:+.4f}, "
                   f"line CER {(on['line_cer'] - off['line_cer']) * 100:+.2f} points")
    out += ["", "| reserved-font lines | lines | CER off | CER on | taken by the fast pack |", "|---|---|---|---|---|"]
    for r in results["line_rows"]:
        out.append(f"| {r['set']} | {r['lines']} | {r['off_cer'] * 100:.2f} % | {r['on_cer'] * 100:.2f} % | "
                   f"{r['fast_share'] * 100:.1f} % |")
    out += ["", "| recognizer alone, SROIE-dev ground-truth crops | INT8 size | lines | CER | line accuracy |",
            "|---|---|---|---|---|"]
    for r in results["alone_rows"]:
        out.append(f"| {r['pack']} | {r['size_mb']:.2f} MB | {r['lines']} | {r['cer'] * 100:.2f} % | "
                   f"{r['line_accuracy'] * 100:.1f} % |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast-pack", default="en-latin-v2")
    parser.add_argument("--limit", type=int, default=None, help="SROIE-dev receipts (default: all)")
    parser.add_argument("--lines", type=int, default=300, help="lines per reserved-font set")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--no-write", action="store_true", help="do not update bench/fast-path-results.md")
    args = parser.parse_args(argv)
    pages = load_labelled_pages(limit=args.limit)
    results = {"fast_pack": args.fast_pack, "pack": Config().engine.pack, "receipts": len(pages),
               "command": "python3 bench/eval_fast_path.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    results["receipts_rows"] = receipts(pages, args.threads, args.fast_pack)
    results["line_rows"] = line_sets(args.lines, args.fast_pack)
    results["alone_rows"] = alone_on_sroie(args.limit, ["en-latin-v1", args.fast_pack])
    text = report(results)
    print(text)
    if not args.no_write:
        (ROOT / "bench" / "fast-path-results.md").write_text(
            f"# Fast path on and off\n\n`{results['command'].strip()}`\n\n{text}\n", encoding="utf-8")
    write_results(args.out, "eval_fast_path", results, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
