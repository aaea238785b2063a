"""Peers' environments for ``bench/compare.py``: RapidOCR's own venv, Tesseract's binary and data.

Every peer ends up either as a Python interpreter to run its runner with, or as a ``Skipped``
with the reason a person can act on; nothing is dropped silently. RapidOCR is installed into a
venv of its own (default ``~/.cache/edgeocr-bench/venvs/rapidocr``) so its onnxruntime, OpenCV
and numpy pins never touch the project's environment.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RAPIDOCR_REQUIREMENT = "rapidocr-onnxruntime==1.4.4"  # PP-OCRv4 mobile det/rec inside the wheel
RAPIDOCR3_REQUIREMENT = "rapidocr==3.10.0"              # PP-OCRv6 small: the files edgeocr's default pack imports
INSTALL_TIMEOUT_S = 900


@dataclass(frozen=True)
class Skipped:
    reason: str


def default_venvs_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "edgeocr-bench" / "venvs"


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def project_onnxruntime() -> str:
    """``onnxruntime==X`` for the version this project runs, so a peer is timed on the same runtime."""
    from importlib import metadata

    return f"onnxruntime=={metadata.version('onnxruntime')}"


# peer -> (venv folder, what pip installs, what must import)
PEER_VENVS = {
    "rapidocr": ("rapidocr", lambda: [RAPIDOCR_REQUIREMENT], "rapidocr_onnxruntime"),
    # rapidocr 3 does not declare onnxruntime: it goes in beside it, at the project's version.
    "rapidocr3": ("rapidocr3", lambda: [RAPIDOCR3_REQUIREMENT, project_onnxruntime()], "rapidocr"),
}


def peer_python(peer: str, venvs_dir: Path, create: bool = True, base_python: str = sys.executable) -> Path | Skipped:
    """The peer venv's interpreter once its package imports there, creating the venv if allowed."""
    folder, requirements, module = PEER_VENVS[peer]
    venv = venvs_dir / folder
    python = venv / "bin" / "python"

    def importable() -> bool:
        if not python.exists():
            return False
        probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, timeout=120)
        return probe.returncode == 0

    if importable():
        return python
    if not create:
        return Skipped(f"no {peer} venv at {venv} (run without --no-install to create it)")
    steps = [[base_python, "-m", "venv", str(venv)],
             [str(python), "-m", "pip", "install", "--quiet", *requirements()]]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Skipped(f"{' '.join(step[:3])}: {exc}")
        if done.returncode != 0:
            return Skipped(f"{' '.join(step[-3:])} failed: {_tail(done.stderr or done.stdout)}")
    if not importable():
        return Skipped(f"{' '.join(requirements())} installed into {venv} but does not import")
    return python


def rapidocr_python(venvs_dir: Path, create: bool = True, base_python: str = sys.executable) -> Path | Skipped:
    return peer_python("rapidocr", venvs_dir, create, base_python)


def tesseract_langs(binary: str | None = None) -> list[str] | Skipped:
    """Installed Tesseract languages, or why Tesseract cannot run at all."""
    binary = binary or shutil.which("tesseract")
    if binary is None:
        return Skipped("tesseract not installed (apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim)")
    try:
        listing = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Skipped(f"{binary} --list-langs: {exc}")
    if listing.returncode != 0:
        return Skipped(f"{binary} --list-langs exited {listing.returncode}: {_tail(listing.stderr)}")
    return [line.strip() for line in listing.stdout.splitlines()[1:] if line.strip()]


def missing_langs(lang: str, installed: list[str]) -> Skipped | None:
    """``None`` when every part of ``eng+chi_sim`` is installed, else which package to add."""
    missing = [part for part in lang.split("+") if part not in installed]
    if not missing:
        return None
    packages = " ".join(f"tesseract-ocr-{part.replace('_', '-')}" for part in missing)
    return Skipped(f"tesseract has no {', '.join(missing)} traineddata (apt-get install {packages})")
