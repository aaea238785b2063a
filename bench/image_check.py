"""Build the container image for real and check it answers: buildah, no Docker engine, no registry.

    python bench/image_check.py                  # amd64: build, run, /health, POST /ocr, size
    python bench/image_check.py --json bench/image-check-latest.json

No registry is reachable from the test machines, so ``python:3.11-slim-bookworm`` cannot be pulled.
A stand-in base is made once from Debian's own packages (``debootstrap --variant=minbase bookworm``
plus python3 and python3-venv, and a venv at /usr/local: ``python`` and ``pip`` on PATH and
``sys.prefix`` = /usr/local, as in the official image),
committed as ``localhost/edgeocr-standin-base:bookworm``. ``Dockerfile.amd64`` is then built on it
(``buildah bud --build-arg BASE=...``), and inside one ``buildah run`` the image starts
``edgeocr serve``, waits for ``/health`` and POSTs a receipt to ``/ocr``. The report gives the image
size, the base's size, and what the layers above the base hold. Storage is ``vfs`` and isolation
``chroot``: what works as root in a sandbox without overlayfs or user namespaces. Exit 0 when the
image answered; 2 when buildah or debootstrap is missing (reported, not a failure of the image).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("EDGEOCR_IMAGE_CACHE", Path.home() / ".cache" / "edgeocr-image"))
BASE = "localhost/edgeocr-standin-base:bookworm"
IMAGE = "localhost/edgeocr:amd64-check"
MIRROR = "http://deb.debian.org/debian"
BUILDAH = ["buildah", "--storage-driver", "vfs"]
SETUPTOOLS = "80.9.0"   # edgeocr's build backend (pyproject.toml: setuptools>=64), fetched with the wheels
RECEIPT = ROOT.parent / "shared" / "eval" / "sroie-dev" / "img" / "000.jpg"

# Runs inside the image as its own user: start the server, wait for /health, OCR one receipt.
PROBE = r"""
import json, socket, subprocess, sys, time, urllib.request
# chroot isolation shares the host's network: a free port, not 8080, which may be taken there.
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
server = subprocess.Popen(["edgeocr", "serve", "--host", "127.0.0.1", "--port", str(port)])
try:
    started = time.monotonic()
    while True:
        try:
            health = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5))
            break
        except OSError:
            if server.poll() is not None or time.monotonic() - started > 300:
                sys.exit("edgeocr serve did not come up")
            time.sleep(1)
    ready = time.monotonic() - started
    body = open(sys.argv[1], "rb").read()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/ocr", data=body, headers={"Content-Type": "image/jpeg"})
    result = json.load(urllib.request.urlopen(request, timeout=300))
    print(json.dumps({"health": health, "ready_seconds": round(ready, 1), "success": result.get("success"),
                      "lines": len(result.get("text_lines", [])), "text_head": result.get("text", "")[:300]}))
finally:
    server.terminate()
    server.wait(30)
"""

# What the layers above the base hold (sizes in KiB), for the report's "what is big" table.
SIZES = ("du -sk /usr/local/lib/python3*/*-packages/* /usr/local/share/edgeocr/models/* 2>/dev/null"
         " | sort -rn | head -15")


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise SystemExit(f"image-check: {' '.join(command[:6])} ... failed ({done.returncode}):\n"
                         f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done


def image_size(name: str) -> int:
    """Bytes of the image's layers, uncompressed (local storage keeps them so; `docker images` shows this)."""
    manifest = json.loads(json.loads(run([*BUILDAH, "inspect", "--type", "image", name]).stdout)["Manifest"])
    return sum(int(layer["size"]) for layer in manifest["layers"])


def standin_base() -> None:
    """The stand-in for python:3.11-slim-bookworm, committed once."""
    if subprocess.run([*BUILDAH, "inspect", "--type", "image", BASE], capture_output=True).returncode == 0:
        return
    tree = CACHE / "root-tmp"
    if not (tree / "usr" / "bin" / "python3").exists():
        shutil.rmtree(tree, ignore_errors=True)
        run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv", "bookworm",
             str(tree), MIRROR])
    # What the slim image leaves out too: package caches and lists, documentation, man pages.
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info"):
        for child in (tree / junk).glob("*"):
            if child.is_dir() and not child.is_symlink():
                if child.name != "partial":
                    shutil.rmtree(child)
            else:
                child.unlink()
    # The official image's Python lives in /usr/local (sys.prefix), where pip puts edgeocr's data
    # files (packs, config) and where edgeocr looks for them. A venv at /usr/local gives Debian's
    # Python the same layout, with python and pip on PATH, and no "externally managed" refusal.
    if not (tree / "usr/local/pyvenv.cfg").is_file():
        run(["chroot", str(tree), "/usr/bin/python3", "-m", "venv", "/usr/local"])
    container = run([*BUILDAH, "from", "scratch"]).stdout.strip()
    try:
        run([*BUILDAH, "copy", container, f"{tree}/", "/"])
        run([*BUILDAH, "config", "--env", "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--env", "LANG=C.UTF-8", "--cmd", "python3", container])
        run([*BUILDAH, "commit", "--rm", container, BASE])
    except SystemExit:
        subprocess.run([*BUILDAH, "rm", container], capture_output=True)
        raise


def offline_pip() -> list[str]:
    """buildah volumes that make the build's pip read wheels fetched here, not the network.

    The build cannot verify TLS to PyPI from inside the stand-in (the sandbox's proxy signs with a
    CA only the host trusts), and a check should not depend on the network anyway. The same pins as
    the Dockerfile are downloaded here for x86-64, plus setuptools for building edgeocr itself;
    an /etc/pip.conf mounted into each RUN step says no index, these links. The Dockerfile is
    built exactly as written.
    """
    wheels = CACHE / "wheels-amd64"
    pins = [word for word in (ROOT / "Dockerfile.amd64").read_text().replace("\\\n", " ").split()
            if "==" in word and not word.startswith("-")]
    stamp = wheels / ".pins"
    if not (stamp.is_file() and stamp.read_text().split() == pins):
        wheels.mkdir(parents=True, exist_ok=True)
        run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
             "--python-version", "3.11", "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64",
             "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux_2_27_x86_64", "-d", str(wheels),
             *pins, "setuptools==" + SETUPTOOLS])
        stamp.write_text("\n".join(pins) + "\n")
    config = CACHE / "pip.conf"
    config.write_text("[global]\nno-index = true\nfind-links = /wheels\n")
    return ["-v", f"{wheels}:/wheels:ro", "-v", f"{config}:/etc/pip.conf:ro"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing:
        print(f"image-check: not run: needs {' and '.join(missing)} (apt-get install buildah debootstrap)")
        return 2
    standin_base()
    run([*BUILDAH, "bud", "--isolation", "chroot", "--layers=false", "--build-arg", f"BASE={BASE}", *offline_pip(),
         "-f", "Dockerfile.amd64", "-t", IMAGE, "."], cwd=ROOT, timeout=3600)
    container = run([*BUILDAH, "from", IMAGE]).stdout.strip()
    try:
        run([*BUILDAH, "copy", "--chown", "10001:10001", container, str(RECEIPT), "/tmp/receipt.jpg"])
        probe = run([*BUILDAH, "run", "--isolation", "chroot", container, "--", "python", "-c", PROBE,
                     "/tmp/receipt.jpg"], timeout=900)
        sizes = run([*BUILDAH, "run", "--isolation", "chroot", "--user", "root", container, "--", "sh", "-c",
                     SIZES]).stdout
    finally:
        subprocess.run([*BUILDAH, "rm", container], capture_output=True)
    answer = json.loads(probe.stdout.strip().splitlines()[-1])
    size, base = image_size(IMAGE), image_size(BASE)
    report = {"image": IMAGE, "base": BASE, "image_mb": round(size / 1e6, 1), "base_mb": round(base / 1e6, 1),
              "above_base_mb": round((size - base) / 1e6, 1), "answer": answer,
              "largest_kib": [line.split("\t") for line in sizes.splitlines()]}
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    print("largest installed parts (KiB):\n" + sizes)
    print(f"/health: {answer['health']}; POST /ocr: success={answer['success']}, {answer['lines']} lines; "
          f"ready in {answer['ready_seconds']} s")
    ok = bool(answer["success"]) and answer["lines"] > 0
    print(f"image-check: {'ok' if ok else 'FAILED'}: {IMAGE} {report['image_mb']} MB on the stand-in base "
          f"({report['base_mb']} MB; {report['above_base_mb']} MB above it)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
