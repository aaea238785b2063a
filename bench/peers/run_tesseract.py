"""Compare runner for Tesseract 5 through its command line, one ``tesseract`` process per image.

That is how the CLI is used, so each image's time includes starting Tesseract and loading its
traineddata; cold start is the first of those. Threads: ``OMP_THREAD_LIMIT`` (Debian builds
Tesseract with OpenMP). Peak RSS is the largest ``tesseract`` child's (``RUSAGE_CHILDREN``), not
this Python wrapper's. Each item's ``lang`` picks ``-l``; options ``psm_page`` and ``psm_line``
pick the page segmentation mode; ``omp_wait_policy`` sets ``OMP_WAIT_POLICY`` (compare.py passes
PASSIVE unless told otherwise: with other work on the cores, OpenMP's default spin-wait made
2-thread Tesseract 20-40x slower than 1 thread here).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import protocol  # noqa: E402
from tesstsv import parse_tsv  # noqa: E402

TIMEOUT_S = 120


def tessdata_dir(binary: str) -> tuple[Path | None, list[str]]:
    """Where the installed traineddata lives and which languages are there (``--list-langs``)."""
    listing = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=30)
    text = listing.stdout + listing.stderr
    match = re.search(r'"([^"]+)"', text)
    langs = [line.strip() for line in listing.stdout.splitlines()[1:] if line.strip()]
    return (Path(match.group(1)) if match else None), langs


def start(job: dict):
    binary = shutil.which("tesseract")
    if binary is None:
        raise FileNotFoundError("tesseract is not on PATH (apt-get install tesseract-ocr)")
    options = job.get("options", {})
    psm = {"page": str(options.get("psm_page", 6)), "line": str(options.get("psm_line", 7))}
    env = dict(os.environ, OMP_THREAD_LIMIT=str(job["threads"]))
    if options.get("omp_wait_policy"):
        env["OMP_WAIT_POLICY"] = options["omp_wait_policy"]
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout.split("\n")[0]
    folder, installed = tessdata_dir(binary)
    wanted = sorted({part for item in job["items"] for part in item.get("lang", "eng").split("+")})
    missing = [lang for lang in wanted if lang not in installed]
    if missing:
        raise FileNotFoundError(f"traineddata missing for {', '.join(missing)} (installed: {', '.join(installed)})")

    def read(item: dict) -> list:
        command = [binary, item["path"], "stdout", "--psm", psm[item["kind"]], "-l", item.get("lang", "eng"), "tsv"]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"tesseract exited {done.returncode}: {done.stderr.strip()[-300:]}")
        lines = parse_tsv(done.stdout)
        return [{"text": line["text"], "box": line["box"]} for line in lines]

    model_files = {str(folder / f"{lang}.traineddata"): (folder / f"{lang}.traineddata").stat().st_size
                   for lang in wanted} if folder else {}
    info = {"engine": version, "binary": binary, "psm": psm, "omp_thread_limit": job["threads"],
            "omp_wait_policy": env.get("OMP_WAIT_POLICY", "default"),
            "threads_set": job["threads"], "model_files": model_files}
    return read, info


if __name__ == "__main__":
    raise SystemExit(protocol.run(start, rss_of_children=True))
