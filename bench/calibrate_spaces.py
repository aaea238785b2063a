"""Choose the accurate recognizer's space threshold (``recognizer.space_threshold`` in its pack).

    python3 bench/calibrate_spaces.py            # ppocrv6-small, 1500 held-out renders
    python3 bench/calibrate_spaces.py --write    # ...and store the pick in the pack's pack.yaml

Best-path CTC decoding drops a word space whenever the blank outscores the space class in every
frame of the gap, which PP-OCR does on tightly set type (``TOTAL :`` read ``TOTAL:``).
``ctc.restore_spaces`` puts a space back where the space class reaches a threshold in the gap.
This script reads held-out receipt-scan renders in the training fonts (``edgeocr/train/scan_data.py``,
a seed training never draws, 10 % Chinese or mixed): never SROIE and never the reserved
evaluation fonts. For each threshold it scores the text as the engine returns it (spaces counted,
runs of spaces as one). The pick is the threshold with the fewest space errors on the lines
whose characters are all read right, so misread characters do not blur the one decision made
here; on a tie, the higher threshold, which inserts fewer spaces. SROIE-dev checks the pick
afterwards (``bench/eval_int8.py``, ``bench/compare.py``). The table goes to
``bench/space-calibration.md``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.results_io import write_results  # noqa: E402
from edgeocr.metrics import edit_distance  # noqa: E402
from edgeocr.packs import PACK_FILE, find_pack_dir, load_pack  # noqa: E402
from edgeocr.registry import build_recognizer  # noqa: E402
from edgeocr.textnorm import normalise_line  # noqa: E402
from edgeocr.train.scan_data import render_scan_samples  # noqa: E402

HELD_OUT_SEED = 515_151  # training draws seeds 1.. and 1_000_004..; the fast-path calibration 424_242
THRESHOLDS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5)


def spaced(text: str) -> str:
    return " ".join(text.split())


def score(reads: list[str], truths: list[str]) -> dict:
    chars = max(sum(len(t) for t in truths), 1)
    with_spaces = sum(edit_distance(r, t) for r, t in zip(reads, truths))
    without = sum(edit_distance(r.replace(" ", ""), t.replace(" ", "")) for r, t in zip(reads, truths))
    # Lines whose characters are all right: what is left wrong there is the spaces alone.
    right = [(r, t) for r, t in zip(reads, truths) if r.replace(" ", "") == t.replace(" ", "")]
    return {"cer": with_spaces / chars, "cer_ignoring_spaces": without / chars,
            "exact": sum(r == t for r, t in zip(reads, truths)) / max(len(truths), 1),
            "space_errors": sum(edit_distance(r, t) for r, t in right), "lines_right": len(right)}


def choose(rows: list[dict]) -> dict:
    best = min(row["space_errors"] for row in rows)
    return max((row for row in rows if row["space_errors"] == best), key=lambda row: row["threshold"])


def table(rows: list[dict], pick: dict, lines: int, pack: str) -> str:
    out = [f"space threshold for {pack}: {lines} held-out receipt-scan renders (training fonts, seed "
           f"{HELD_OUT_SEED})", "", "| space threshold | CER (spaces counted) | CER ignoring spaces | lines exact "
           "| space errors on lines with all characters right |", "|---|---|---|---|---|"]
    for row in rows:
        mark = " **(pick)**" if row is pick else (" (off)" if row["threshold"] == 0 else "")
        out.append(f"| {row['threshold']}{mark} | {row['cer'] * 100:.2f} % | {row['cer_ignoring_spaces'] * 100:.2f} % "
                   f"| {row['exact'] * 100:.1f} % | {row['space_errors']} in {row['lines_right']} lines |")
    return "\n".join(out)


def write_threshold(pack_dir: Path, threshold: float) -> None:
    """Set ``recognizer.space_threshold`` by editing the text, so the file's comments stay."""
    path = pack_dir / PACK_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("recognizer:\n")
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "\n")), len(lines))
    entry = f"  space_threshold: {threshold}\n"
    found = [i for i in range(start + 1, end) if lines[i].startswith("  space_threshold:")]
    if found:
        lines[found[0]] = entry
    else:
        lines.insert(start + 1, entry)
    path.write_text("".join(lines), encoding="utf-8")
    if yaml.safe_load("".join(lines))["recognizer"]["space_threshold"] != threshold:
        raise RuntimeError(f"{path}: the edit did not take")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", default="ppocrv6-small")
    parser.add_argument("--lines", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="store the pick in the pack's pack.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    pack_dir = find_pack_dir(args.pack)
    pack = load_pack(pack_dir)
    recognizer = build_recognizer(pack, args.threads)
    samples = render_scan_samples(args.lines, HELD_OUT_SEED, pack.recognizer.input_height)
    crops, truths = [image for image, _ in samples], [spaced(text) for _, text in samples]
    rows = []
    for threshold in THRESHOLDS:
        recognizer.space_threshold = threshold
        reads = [spaced(normalise_line(t.text)) for t in recognizer.recognize(crops)]
        rows.append({"threshold": threshold, **score(reads, truths)})
        print(f"  threshold {threshold}: CER {rows[-1]['cer'] * 100:.2f} %", flush=True)
    pick = choose(rows)
    text = table(rows, pick, len(samples), pack.name)
    print(text)
    command = f"python3 bench/calibrate_spaces.py --pack {args.pack} --lines {args.lines}"
    (ROOT / "bench" / "space-calibration.md").write_text(
        f"# Space threshold calibration\n\n`{command}`\n\n{text}\n", encoding="utf-8")
    write_results(args.out, "calibrate_spaces", {"rows": rows, "pick": pick["threshold"], "lines": len(samples),
                                                 "pack": pack.name}, text)
    if args.write:
        write_threshold(pack_dir, pick["threshold"])
        print(f"space_threshold {pick['threshold']} written to {pack_dir / PACK_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
