"""The Markdown tables and the accuracy-against-latency plot of ``bench/compare.py``.

The plot is drawn with OpenCV, already a runtime dependency, so the benchmark needs nothing new.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

COLOURS = {"edgeocr": (40, 120, 220), "rapidocr3": (30, 110, 30), "rapidocr": (60, 160, 60), "tesseract": (180, 80, 160)}  # BGR
DASH = "–"


def _f(value, digits: int = 1, scale: float = 1.0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return f"{value * scale:.{digits}f}"


def page_table(runs: list[dict], pages: int) -> list[str]:
    out = [f"**SROIE-dev receipts, end to end** ({pages} pages; word P/R/F1 and line CER as in `edgeocr/evaluation.py`)",
           "", "| engine | threads | word P | word R | word F1 | line CER | p50 ms | p90 ms | images/min | "
           "peak RSS MiB | cold start s | models MB |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        head = f"| {run['engine']} | {run['threads']} |"
        if run["status"] != "ok":
            out.append(f"{head} skipped: {run['reason']} |" + " |" * 9)
            continue
        page = run.get("pages")
        if not page or page.get("status") == "skipped":
            accuracy = f" {DASH} |" * 7
        else:
            errors = f" ({page['errors']} failed)" if page.get("errors") else ""
            accuracy = (f" {_f(page['word_precision'], 3)} | {_f(page['word_recall'], 3)} | "
                        f"{_f(page['word_f1'], 3)}{errors} | {_f(page['line_cer'], 1, 100)} % | {_f(page['p50_ms'])} | "
                        f"{_f(page['p90_ms'])} | {_f(page['per_minute'], 0)} |")
        out.append(f"{head}{accuracy} {_f(run['peak_rss_mib'], 0)} | {_f(run['cold_start_s'], 2)} | "
                   f"{_f(run['model_bytes'], 1, 1e-6)} |")
    return out


def line_table(runs: list[dict], kinds: list[str]) -> list[str]:
    out = ["**Rendered held-out lines, one line per image** (reserved evaluation fonts; CER* ignores spaces "
           "and NFKC-folds full-width forms)", "",
           "| engine | threads | set | n | CER | CER* | line accuracy | p50 ms | p90 ms | lines/min |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        if run["status"] != "ok":
            continue  # the page table already says why
        for kind in kinds:
            row = run.get("lines", {}).get(kind)
            head = f"| {run['engine']} | {run['threads']} | {kind} |"
            if row is None:
                continue
            if row.get("status") == "skipped":
                out.append(f"{head} skipped: {row['reason']} |" + " |" * 6)
                continue
            errors = f" ({row['errors']} failed)" if row.get("errors") else ""
            out.append(f"{head} {row['n']}{errors} | {_f(row['cer'], 1, 100)} % | {_f(row['cer_loose'], 1, 100)} % | "
                       f"{_f(row['line_accuracy'], 1, 100)} % | {_f(row['p50_ms'])} | {_f(row['p90_ms'])} | "
                       f"{_f(row['per_minute'], 0)} |")
    return out


def limit_lines(limit: dict | None) -> list[str]:
    if not limit:
        return []
    if "skipped" in limit:
        return [f"**Distance to the limit**: not measured ({limit['skipped']})"]
    peak = limit["peak"]
    out = [f"**Distance to the limit** (edgeocr recognizer, one 32x320 line): {limit['macs_per_line'] / 1e6:.1f} M MACs "
           f"per line, counted from `{limit['counted_from']}` ({limit['counted_note']})", "",
           "| threads | ms per line alone | achieved GMAC/s | % of fp32 peak | % of int8 peak | ms/line batched x16 "
           "| batched GMAC/s | % of int8 peak |", "|---|---|---|---|---|---|---|---|"]
    for row in limit["rows"]:
        alone, batched = row["alone"], row["batched"]
        out.append(f"| {row['threads']} | {alone['seconds_per_line'] * 1e3:.2f} | {alone['achieved_macs'] / 1e9:.1f} | "
                   f"{alone['share_of_fp32_peak'] * 100:.1f} % | {alone['share_of_int8_peak'] * 100:.1f} % | "
                   f"{batched['seconds_per_line'] * 1e3:.2f} | {batched['achieved_macs'] / 1e9:.1f} | "
                   f"{batched['share_of_int8_peak'] * 100:.1f} % |")
    out += ["", f"Peak per core: {peak['fp32_macs_per_cycle_per_core']} fp32 / {peak['int8_macs_per_cycle_per_core']} "
            f"int8 MAC/cycle; derivation: {peak['derivation']}."]
    return out


def markdown(results: dict) -> str:
    machine = results["machine"]
    out = [f"# edgeocr beside RapidOCR and Tesseract ({results['started']})", "",
           f"Machine: {machine['cpu']}, {machine['cores']} cores at {machine['clock_ghz']:.2f} GHz, "
           f"{machine['memory_gib']:.0f} GiB; {machine['os']}; Python {machine['python']}. "
           f"Load average at start {machine['load_start']:.2f}, at end {machine.get('load_end', float('nan')):.2f} "
           f"(other processes share these cores: compare engines within this run).", "",
           f"Command: `{results['command']}`", ""]
    out += page_table(results["runs"], results["workload"]["pages"]) + [""]
    out += line_table(results["runs"], list(results["workload"]["lines"])) + [""]
    out += limit_lines(results.get("limit")) + [""]
    engines = {}
    for run in results["runs"]:
        if run["status"] == "ok":
            engines[run["engine"]] = run["info"].get("engine", run["engine"])
    out.append("Engines: " + "; ".join(f"{name} = {version}" for name, version in engines.items()) + ".")
    for run in results["runs"]:
        if run["status"] == "ok" and run.get("errors"):
            failed = "; ".join(f"{item}: {message}" for item, message in list(run["errors"].items())[:5])
            more = f" (and {len(run['errors']) - 5} more)" if len(run["errors"]) > 5 else ""
            out.append(f"- {run['engine']} x{run['threads']} failed on {failed}{more}; scored as read nothing.")
        if run["status"] == "ok" and run.get("failure"):
            out.append(f"- {run['engine']} x{run['threads']}: the runner stopped early ({run['failure']}); "
                       "what it did not answer is scored as read nothing.")
    for note in results.get("notes", []):
        out.append(f"- {note}")
    return "\n".join(out) + "\n"


def plot(results: dict, path: Path, size: tuple[int, int] = (900, 560)) -> bool:
    """Word F1 against p50 latency per page, one point per engine and thread count; False if no points."""
    points = [(run["engine"], run["threads"], run["pages"]["p50_ms"], run["pages"]["word_f1"])
              for run in results["runs"] if run["status"] == "ok" and run.get("pages", {}).get("p50_ms")]
    if not points:
        return False
    width, height = size
    left, right, top, bottom = 80, 30, 50, 70
    canvas = np.full((height, width, 3), 255, np.uint8)
    lo = math.floor(math.log10(min(p[2] for p in points)) - 0.1)
    hi = math.ceil(math.log10(max(p[2] for p in points)) + 0.1)
    y_hi = max(0.2, math.ceil(max(p[3] for p in points) * 10 + 0.5) / 10)

    def to_xy(ms: float, f1: float) -> tuple[int, int]:
        x = left + (math.log10(ms) - lo) / (hi - lo) * (width - left - right)
        y = height - bottom - f1 / y_hi * (height - top - bottom)
        return int(round(x)), int(round(y))

    font, grey = cv2.FONT_HERSHEY_SIMPLEX, (200, 200, 200)
    for decade in range(lo, hi + 1):
        for step in (1, 2, 5):
            ms = step * 10 ** decade
            if lo <= math.log10(ms) <= hi:
                x, _ = to_xy(ms, 0)
                cv2.line(canvas, (x, top), (x, height - bottom), grey if step == 1 else (235, 235, 235), 1)
                cv2.putText(canvas, f"{ms:g}", (x - 12, height - bottom + 20), font, 0.45, (60, 60, 60), 1, cv2.LINE_AA)
    for tick in np.arange(0, y_hi + 1e-9, 0.1):
        _, y = to_xy(10 ** lo, tick)
        cv2.line(canvas, (left, y), (width - right, y), grey, 1)
        cv2.putText(canvas, f"{tick:.1f}", (left - 40, y + 5), font, 0.45, (60, 60, 60), 1, cv2.LINE_AA)
    cv2.rectangle(canvas, (left, top), (width - right, height - bottom), (0, 0, 0), 1)
    cv2.putText(canvas, "p50 latency per receipt page, ms (log scale)", (left + 180, height - 25), font, 0.55,
                (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(canvas, "word F1 on SROIE-dev, per engine x threads (dot = 1 thread, square = 2)", (left, 30),
                font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    for engine, threads, ms, f1 in points:
        x, y = to_xy(ms, f1)
        colour = COLOURS.get(engine, (0, 0, 0))
        if threads == 1:
            cv2.circle(canvas, (x, y), 7, colour, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(canvas, (x - 6, y - 6), (x + 6, y + 6), colour, -1)
        cv2.putText(canvas, f"{engine} x{threads}", (x + 10, y - 8 if threads == 1 else y + 18), font, 0.5, colour, 1,
                    cv2.LINE_AA)
    return bool(cv2.imwrite(str(path), canvas))
