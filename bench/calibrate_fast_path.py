"""Calibrate the fast path's acceptance rule on rendered lines, and pick its threshold.

    python3 bench/calibrate_fast_path.py                    # en-latin-v2 before ppocrv6-small, 2000 lines
    python3 bench/calibrate_fast_path.py --write            # ...and store the rule in the fast pack's pack.yaml

The lines are held-out receipt-scan renders in the training fonts (``edgeocr/train/scan_data.py``,
a seed training never draws), 10 % of them Chinese or mixed: never SROIE, never the reserved
evaluation fonts. Both recognizers read every line. A logistic model of "the fast reading is
exactly right" on (log geometric-mean, log minimum) character probability is fitted to the fast
readings; for each threshold on it the table shows the share of lines the fast path takes, how
often what it takes is exactly right, and the CER of the cascade against the accurate recognizer
alone. The pick is the lowest threshold at which the lines taken are read exactly right at least
``--precision`` of the time and no worse (CER) than the accurate recognizer reads those same
lines, so the cascade gives nothing away on what it takes. SROIE-dev checks it afterwards
(``bench/eval_fast_path.py``). The table goes to ``bench/fast-path-calibration.md``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from bench.results_io import write_results  # noqa: E402
from edgeocr.cascade import FOREIGN_MARK, FastPathParams, accepts, reading_features  # noqa: E402
from edgeocr.metrics import edit_distance  # noqa: E402
from edgeocr.packs import PACK_FILE, find_pack_dir, load_pack  # noqa: E402
from edgeocr.registry import build_recognizer  # noqa: E402
from edgeocr.textnorm import latin_halfwidth  # noqa: E402
from edgeocr.train.scan_data import render_scan_samples  # noqa: E402

HELD_OUT_SEED = 424_242  # training uses seeds 1.. and 1_000_004.. (validation); calibration lines 7
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995)


def clean(text: str) -> str:
    return " ".join(latin_halfwidth(text).split())


def fit_logistic(features: np.ndarray, labels: np.ndarray, l2: float = 1e-3, steps: int = 50) -> np.ndarray:
    """Weights (bias first) of a logistic regression, by Newton's method with a little L2."""
    x = np.hstack([np.ones((len(features), 1)), features])
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -50, 50)))
        gradient = x.T @ (p - labels) + l2 * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, gradient)
    return w


def cer(predictions: list[str], truths: list[str]) -> float:
    return sum(edit_distance(p, t) for p, t in zip(predictions, truths)) / max(sum(len(t) for t in truths), 1)


def sweep(crops, truths, fast_texts, accurate_texts, calibration, min_aspect: float, max_aspect: float) -> list[dict]:
    fast_read = [clean(t.text) for t in fast_texts]
    accurate_read = [clean(t.text) for t in accurate_texts]
    baseline = cer(accurate_read, truths)
    rows = []
    for threshold in THRESHOLDS:
        params = FastPathParams(threshold, calibration, min_aspect, max_aspect)
        taken = [accepts(params, crop, text) for crop, text in zip(crops, fast_texts)]
        picked = [f if take else a for f, a, take in zip(fast_read, accurate_read, taken)]
        idx = [i for i, take in enumerate(taken) if take]
        foreign = [i for i, t in enumerate(truths) if any(ord(ch) > 0x2fff for ch in t)]
        rows.append({
            "threshold": threshold, "share": len(idx) / max(len(truths), 1),
            "taken_exact": sum(fast_read[i] == truths[i] for i in idx) / max(len(idx), 1),
            "taken_fast_cer": cer([fast_read[i] for i in idx], [truths[i] for i in idx]),
            "taken_accurate_cer": cer([accurate_read[i] for i in idx], [truths[i] for i in idx]),
            "cascade_cer": cer(picked, truths), "accurate_cer": baseline,
            "foreign_taken": sum(taken[i] for i in foreign),
        })
    return rows


def choose(rows: list[dict], precision: float) -> dict:
    good = [r for r in rows if r["taken_exact"] >= precision and r["taken_fast_cer"] <= r["taken_accurate_cer"]
            and r["foreign_taken"] == 0]
    return min(good, key=lambda r: r["threshold"]) if good else rows[-1]


def table(rows: list[dict], pick: dict, calibration, lines: int) -> str:
    out = [f"fast-path calibration: {lines} held-out receipt-scan renders (training fonts, seed {HELD_OUT_SEED}); "
           f"calibration (bias, w_mean_log, w_min_log) = ({', '.join(f'{v:.3f}' for v in calibration)})", "",
           "| threshold | fast share | taken read exactly | taken CER fast | taken CER accurate | cascade CER "
           "| accurate CER | foreign lines taken |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mark = " **(pick)**" if r is pick else ""
        out.append(f"| {r['threshold']}{mark} | {r['share'] * 100:.1f} % | {r['taken_exact'] * 100:.1f} % | "
                   f"{r['taken_fast_cer'] * 100:.2f} % | {r['taken_accurate_cer'] * 100:.2f} % | "
                   f"{r['cascade_cer'] * 100:.2f} % | {r['accurate_cer'] * 100:.2f} % | {r['foreign_taken']} |")
    return "\n".join(out)


def write_rule(pack_dir: Path, rule: dict) -> None:
    path = pack_dir / PACK_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["recognizer"]["fast_path"] = rule
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast-pack", default="en-latin-v2")
    parser.add_argument("--pack", default="ppocrv6-small", help="the accurate pack")
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--precision", type=float, default=0.97, help="share of taken lines read exactly")
    parser.add_argument("--min-aspect", type=float, default=1.5)
    parser.add_argument("--max-aspect", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="store the rule in the fast pack's pack.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    fast_dir = find_pack_dir(args.fast_pack)
    fast_pack, pack = load_pack(fast_dir), load_pack(find_pack_dir(args.pack))
    fast = build_recognizer(fast_pack, args.threads)
    accurate = build_recognizer(pack, args.threads)
    samples = render_scan_samples(args.lines, HELD_OUT_SEED, fast_pack.recognizer.input_height)
    crops, truths = [image for image, _ in samples], [clean(text) for _, text in samples]
    fast_texts, accurate_texts = fast.recognize(crops), accurate.recognize(crops)
    latin = [i for i, t in enumerate(fast_texts) if t.text and FOREIGN_MARK not in t.text]
    features = np.array([reading_features(fast_texts[i]) for i in latin])
    labels = np.array([float(clean(fast_texts[i].text) == truths[i]) for i in latin])
    calibration = tuple(float(v) for v in fit_logistic(features, labels))
    rows = sweep(crops, truths, fast_texts, accurate_texts, calibration, args.min_aspect, args.max_aspect)
    pick = choose(rows, args.precision)
    text = table(rows, pick, calibration, len(samples))
    print(text)
    command = f"python3 bench/calibrate_fast_path.py --lines {args.lines} --precision {args.precision}"
    rule = {"threshold": pick["threshold"], "calibration": [round(v, 4) for v in calibration],
            "min_aspect": args.min_aspect, "max_aspect": args.max_aspect,
            "chosen_by": f"{command} (bench/fast-path-calibration.md)"}
    (ROOT / "bench" / "fast-path-calibration.md").write_text(
        f"# Fast-path calibration\n\n`{command}`\n\n{text}\n", encoding="utf-8")
    write_results(args.out, "calibrate_fast_path", {"rows": rows, "rule": rule, "lines": len(samples)}, text)
    if args.write:
        write_rule(fast_dir, rule)
        print(f"rule written to {fast_dir / PACK_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
