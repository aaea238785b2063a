"""edgeocr beside RapidOCR and Tesseract: same images, same thread counts, each engine in its own process.

    python3 bench/compare.py                     # full run: 100 receipts, 100 lines per set, 1 and 2 threads
    python3 bench/compare.py --quick             # smoke run: 5 receipts, 10 lines per set
    python3 bench/compare.py --engines edgeocr tesseract --threads 2 --pages 20 --lines 50

Per engine and thread count one runner process (``bench/peers/run_<engine>.py``) gets a JSON job on
stdin and streams one JSON answer per image (protocol in ``bench/peers/protocol.py``). The first two
images are a warm-up (one receipt, one line) and are not scored; cold start is the time from
starting the process to its first answer. RapidOCR runs in a venv of its own that this script
creates; Tesseract needs Debian's ``tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim``. A peer
that cannot run is reported as skipped with the reason. See bench/README.md for every measure.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import compare_macs  # noqa: E402
import compare_report  # noqa: E402
import compare_setup  # noqa: E402
from compare_setup import Skipped  # noqa: E402
from edgeocr.evaluation import WordCounts, line_edits, load_labelled_pages  # noqa: E402
from edgeocr.metrics import edit_distance  # noqa: E402

ENGINES = ("edgeocr", "rapidocr3", "rapidocr", "tesseract")
LINE_KINDS = ("chinese", "english", "mixed")
# Tesseract is told the language, as its users must: English receipts -> eng, and so on.
TESSERACT_LANG = {"page": "eng", "english": "eng", "chinese": "chi_sim", "mixed": "chi_sim+eng"}
RUNNER_TIMEOUT_S = 3600


# -- workload ---------------------------------------------------------------------------------


def write_line_sets(folder: Path, count: int, kinds: tuple[str, ...] = LINE_KINDS) -> tuple[dict, dict]:
    """Render the held-out line sets to PNG files; returns ({kind: [(path, truth)]}, {kind: skip reason})."""
    sets, skipped = {}, {}
    try:
        from evalsets import render_eval_set
    except Exception as exc:  # the reserved-font renderer or its fonts are missing on this machine
        return {}, {kind: f"bench/evalsets.py unusable: {type(exc).__name__}: {exc}" for kind in kinds}
    for kind in kinds:
        try:
            rendered = render_eval_set(kind, count)
        except Exception as exc:
            skipped[kind] = f"render_eval_set({kind!r}) failed: {type(exc).__name__}: {exc}"
            continue
        (folder / kind).mkdir(parents=True, exist_ok=True)
        rows = []
        for index, (image, truth) in enumerate(rendered):
            path = folder / kind / f"{kind}-{index:05d}.png"
            cv2.imwrite(str(path), image)
            rows.append((path, truth))
        (folder / kind / "labels.tsv").write_text("".join(f"{p.name}\t{t}\n" for p, t in rows), encoding="utf-8")
        sets[kind] = rows
    return sets, skipped


def job_items(pages: list, line_sets: dict, lang_for: dict | None) -> list[dict]:
    """Warm-up receipt and line first, then every receipt, then every line set."""
    def lang(key: str) -> str:
        return (lang_for or {}).get(key, "eng")

    items = []
    if pages:
        items.append({"id": "warmup/page", "path": str(pages[0].image_path), "kind": "page", "lang": lang("page")})
    for kind, rows in line_sets.items():
        if rows:
            items.append({"id": "warmup/line", "path": str(rows[0][0]), "kind": "line", "lang": lang(kind)})
            break
    items += [{"id": f"page/{p.name}", "path": str(p.image_path), "kind": "page", "lang": lang("page")} for p in pages]
    for kind, rows in line_sets.items():
        items += [{"id": f"{kind}/{i}", "path": str(path), "kind": "line", "lang": lang(kind)}
                  for i, (path, _) in enumerate(rows)]
    return items


# -- one runner process ------------------------------------------------------------------------


def run_runner(command: list[str], job: dict, log_path: Path, timeout_s: float = RUNNER_TIMEOUT_S) -> dict:
    """Start the runner, send the job, collect its answers; never raises for the runner's own failures."""
    answers: dict = {"results": {}, "errors": {}, "done": None, "fatal": None, "cold_start_s": None}
    started = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                       text=True, encoding="utf-8", cwd=ROOT)
        except OSError as exc:
            answers["fatal"] = f"cannot start {command[0]}: {exc}"
            return answers
        try:
            process.stdin.write(json.dumps(job))
            process.stdin.close()
            for raw in process.stdout:
                if time.perf_counter() - started > timeout_s:
                    answers["fatal"] = f"runner still going after {timeout_s:.0f} s; stopped"
                    break
                try:
                    message = json.loads(raw)
                except json.JSONDecodeError:
                    continue  # not ours; the runner keeps fd 1 for the protocol, so this is rare
                kind = message.get("type")
                if kind in ("result", "error") and answers["cold_start_s"] is None:
                    answers["cold_start_s"] = time.perf_counter() - started
                answered = len(answers["results"]) + len(answers["errors"]) + 1
                if kind in ("result", "error") and answered % 100 == 0:
                    print(f"[compare]   {answered}/{len(job['items'])} images", file=sys.stderr, flush=True)
                if kind == "result":
                    answers["results"][message["id"]] = message
                elif kind == "error":
                    answers["errors"][message["id"]] = message["message"]
                elif kind == "done":
                    answers["done"] = message
                elif kind == "fatal":
                    answers["fatal"] = message["message"]
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
    answers["returncode"] = process.returncode
    if answers["done"] is None and answers["fatal"] is None:
        answers["fatal"] = f"runner exited {process.returncode} without finishing; see {log_path}"
    return answers


# -- scoring ---------------------------------------------------------------------------------


def timing(seconds: list[float]) -> dict:
    if not seconds:
        return {"p50_ms": None, "p90_ms": None, "per_minute": None}
    return {"p50_ms": float(np.percentile(seconds, 50)) * 1e3, "p90_ms": float(np.percentile(seconds, 90)) * 1e3,
            "per_minute": 60 * len(seconds) / sum(seconds)}


def loose(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def score_pages(pages: list, answers: dict) -> dict:
    words, edits, chars, seconds, errors = WordCounts(), 0, 0, [], 0
    for page in pages:
        truth = [line.text for line in page.lines]
        answer = answers["results"].get(f"page/{page.name}")
        predicted = [line["text"] for line in answer["lines"]] if answer else []
        errors += answer is None  # a failed page is scored as reading nothing
        if answer:
            seconds.append(answer["seconds"])
        words.add(predicted, truth)
        page_edits, page_chars = line_edits(predicted, truth)
        edits, chars = edits + page_edits, chars + page_chars
    return {"n": len(pages), "errors": errors, "word_precision": words.precision, "word_recall": words.recall,
            "word_f1": words.f1, "line_cer": edits / max(chars, 1), **timing(seconds)}


def score_lines(kind: str, rows: list, answers: dict) -> dict:
    edits = edits_loose = chars = chars_loose = exact = errors = 0
    seconds = []
    for index, (_, truth) in enumerate(rows):
        answer = answers["results"].get(f"{kind}/{index}")
        predicted = " ".join(line["text"] for line in answer["lines"]).strip() if answer else ""
        errors += answer is None
        if answer:
            seconds.append(answer["seconds"])
        edits += edit_distance(predicted, truth)
        edits_loose += edit_distance(loose(predicted), loose(truth))
        chars, chars_loose = chars + len(truth), chars_loose + len(loose(truth))
        exact += predicted == truth
    return {"n": len(rows), "errors": errors, "cer": edits / max(chars, 1), "cer_loose": edits_loose / max(chars_loose, 1),
            "line_accuracy": exact / max(len(rows), 1), **timing(seconds)}


# -- engines -----------------------------------------------------------------------------------


def runner_command(engine: str, python: Path | str) -> list[str]:
    return [str(python), str(BENCH / "peers" / f"run_{engine}.py")]


def prepare_engines(engines: list[str], args: argparse.Namespace) -> dict:
    """engine -> (python, lang map, {kind: skip reason}) or Skipped."""
    prepared: dict = {}
    for engine in engines:
        if engine == "edgeocr":
            prepared[engine] = (sys.executable, None, {})
        elif engine in compare_setup.PEER_VENVS:
            python = compare_setup.peer_python(engine, args.venvs, create=not args.no_install)
            prepared[engine] = python if isinstance(python, Skipped) else (python, None, {})
        elif engine == "tesseract":
            langs = compare_setup.tesseract_langs()
            if isinstance(langs, Skipped):
                prepared[engine] = langs
                continue
            missing = {key: compare_setup.missing_langs(lang, langs) for key, lang in TESSERACT_LANG.items()}
            if missing["page"] is not None and missing["english"] is not None:
                prepared[engine] = missing["page"]
                continue
            prepared[engine] = (sys.executable, TESSERACT_LANG, {k: s.reason for k, s in missing.items() if s})
    return prepared


def measure(engine: str, threads: int, prepared, pages: list, line_sets: dict, out: Path, args) -> dict:
    row: dict = {"engine": engine, "threads": threads}
    if isinstance(prepared, Skipped):
        return {**row, "status": "skipped", "reason": prepared.reason}
    python, lang_for, skip_kinds = prepared
    run_pages = [] if "page" in skip_kinds else pages
    run_sets = {kind: rows for kind, rows in line_sets.items() if kind not in skip_kinds}
    options = {"edgeocr": {"line_runs": args.line_runs, **({"pack": args.pack} if args.pack else {})},
               "tesseract": {"psm_page": args.psm, "psm_line": 7,
                             "omp_wait_policy": None if args.omp_spin else "PASSIVE"}}.get(engine, {})
    job = {"threads": threads, "options": options, "items": job_items(run_pages, run_sets, lang_for),
           "item_timeout_s": args.item_timeout}
    load_before = os.getloadavg()[0]
    answers = run_runner(runner_command(engine, python), job, out / f"{engine}-t{threads}.log")
    if answers["fatal"] and not answers["results"]:
        return {**row, "status": "skipped", "reason": answers["fatal"]}
    done = answers["done"] or {"peak_rss_mib": None, "info": {}}
    info = done["info"]
    row.update(status="ok", cold_start_s=answers["cold_start_s"], peak_rss_mib=done["peak_rss_mib"],
               model_bytes=sum(info.get("model_files", {}).values()) or None, info=info,
               load_before=load_before, load_after=os.getloadavg()[0], failure=answers["fatal"],
               errors=dict(list(answers["errors"].items())[:20]))
    row["pages"] = ({"status": "skipped", "reason": skip_kinds["page"]} if "page" in skip_kinds
                    else score_pages(pages, answers))
    row["lines"] = {kind: {"status": "skipped", "reason": skip_kinds.get(kind) or args.line_skips.get(kind)}
                    for kind in LINE_KINDS if kind in skip_kinds or kind in args.line_skips}
    for kind, rows in run_sets.items():
        row["lines"][kind] = score_lines(kind, rows, answers)
    return row


def distance_to_limit(runs: list[dict]) -> dict:
    """Recognizer MACs per 32x320 line over its measured time, against this CPU's peak."""
    from edgeocr.packs import load_pack

    timed = [r for r in runs if r["engine"] == "edgeocr" and r["status"] == "ok" and "line_320_seconds" in r["info"]]
    if not timed:
        return {"skipped": "edgeocr did not run or --line-runs 0"}
    # the pack the runner really loaded, whatever the configured default is today
    loaded = load_pack(Path(timed[0]["info"]["recognizer_model"]).parent, verify=False)
    variants = loaded.recognizer.variants
    model = loaded.recognizer_model("fp32" if "fp32" in variants else None)
    count = compare_macs.count_macs(model, [1, loaded.recognizer.input.channels, loaded.recognizer.input_height, 320])
    note = ("the FP32 original of the INT8 model that ran: quantizing changes the arithmetic's type, not its count"
            if "fp32" in variants else "the model that ran")
    if count.uncounted:
        note += f"; not counted (shapes unknown): {', '.join(count.uncounted)}"
    _, clock, flags = compare_macs.cpu_info()
    rows = []
    for run in timed:
        peak = compare_macs.cpu_peak(run["threads"], clock, flags)
        rows.append({"threads": run["threads"],
                     "alone": compare_macs.distance_to_limit(count.total, run["info"]["line_320_seconds"], peak),
                     "batched": compare_macs.distance_to_limit(count.total, run["info"]["line_320_batched_seconds"], peak),
                     "peak": peak})
    return {"macs_per_line": count.total, "macs_by_op": count.by_op, "counted_from": str(model.relative_to(ROOT))
            if model.is_relative_to(ROOT) else str(model), "counted_note": note, "rows": rows,
            "peak": compare_macs.cpu_peak(1, clock, flags)}


def machine() -> dict:
    model, clock, flags = compare_macs.cpu_info()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": model, "cores": os.cpu_count(), "clock_ghz": clock, "memory_gib": memory,
            "os": platform.platform(), "python": platform.python_version(), "nice": os.nice(0),
            "avx2": "avx2" in flags, "avx512f": "avx512f" in flags, "avx512_vnni": "avx512_vnni" in flags,
            "load_start": os.getloadavg()[0]}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--pages", type=int, default=100, help="SROIE-dev receipts (0 for none)")
    parser.add_argument("--lines", type=int, default=100, help="rendered lines per set (0 for none)")
    parser.add_argument("--sroie", type=Path, default=None, help="SROIE-layout folder (default: ../shared/eval/sroie-dev)")
    parser.add_argument("--pack", default=None, help="edgeocr pack (default: the configured one)")
    parser.add_argument("--psm", type=int, default=6, choices=(3, 4, 6, 11), help="Tesseract page segmentation for receipts")
    parser.add_argument("--omp-spin", action="store_true",
                        help="leave Tesseract's OMP_WAIT_POLICY at OpenMP's default (spin) instead of PASSIVE")
    parser.add_argument("--line-runs", type=int, default=200, help="timings of one 32x320 line (distance to the limit)")
    parser.add_argument("--item-timeout", type=float, default=60.0,
                        help="seconds one image may take before it counts as failed (0: no limit)")
    parser.add_argument("--venvs", type=Path, default=compare_setup.default_venvs_dir(), help="where peers' venvs live")
    parser.add_argument("--no-install", action="store_true", help="do not create missing peer venvs: skip them")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--quick", action="store_true", help="5 receipts, 10 lines per set, 20 line timings")
    args = parser.parse_args(argv)
    if args.quick:
        args.pages, args.lines, args.line_runs = min(args.pages, 5), min(args.lines, 10), min(args.line_runs, 20)
    if any(t < 1 for t in args.threads):
        parser.error("--threads: each value must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = args.out / f"compare-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    results = {"started": stamp, "command": " ".join(["python3", "bench/compare.py", *(argv if argv is not None else sys.argv[1:])]),
               "machine": machine(), "notes": []}
    pages = load_labelled_pages(args.sroie, limit=args.pages) if args.pages > 0 else []
    line_sets, args.line_skips = write_line_sets(out / "lines", args.lines) if args.lines > 0 else ({}, {})
    results["workload"] = {"pages": len(pages), "lines": {kind: len(rows) for kind, rows in line_sets.items()},
                           "line_skips": args.line_skips}
    prepared = prepare_engines(args.engines, args)
    runs = []
    for threads in args.threads:
        for engine in args.engines:
            print(f"[compare] {engine} with {threads} thread(s)...", file=sys.stderr, flush=True)
            runs.append(measure(engine, threads, prepared[engine], pages, line_sets, out, args))
    results["runs"] = runs
    results["limit"] = distance_to_limit(runs) if "edgeocr" in args.engines else None
    results["machine"]["load_end"] = os.getloadavg()[0]
    results["notes"].append(f"Tesseract: one `tesseract IMAGE stdout --psm {args.psm}|7 -l LANG tsv` process per image "
                            f"(receipts --psm {args.psm}, lines --psm 7; -l eng for receipts and English, chi_sim for "
                            "Chinese, chi_sim+eng for mixed), threads via OMP_THREAD_LIMIT, "
                            f"OMP_WAIT_POLICY={'default (spin)' if args.omp_spin else 'PASSIVE'}.")
    table = compare_report.markdown(results)
    print(table)
    files = {"md": table, "json": json.dumps(results, indent=2, ensure_ascii=False, default=str)}
    for ext, text in files.items():
        (out / f"compare.{ext}").write_text(text, encoding="utf-8")
        (args.out / f"compare-latest.{ext}").write_text(text, encoding="utf-8")
    if compare_report.plot(results, out / "compare.png"):
        shutil.copyfile(out / "compare.png", args.out / "compare-latest.png")
    print(f"[compare] written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
