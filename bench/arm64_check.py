"""Does edgeocr read the same on a Raspberry Pi (aarch64) as here? Checked under qemu user emulation.

    python bench/arm64_check.py --quick          # two images per pack, every shipped variant
    python bench/arm64_check.py --json bench/arm64-check-latest.json

Once, cached under ``~/.cache/edgeocr-arm64/``: an arm64 Debian bookworm userland from Debian's own
packages (``debootstrap --foreign --arch arm64``; the second stage cannot run without binfmt, so the
downloaded .debs are unpacked with ``dpkg-deb -x`` instead), and the Dockerfiles' pinned runtime
wheels for aarch64 (``pip download --platform ... --only-binary=:all:``), installed for the arm64
Python with ``pip install --target``. Then ``edgeocr ocr`` of this checkout runs on both sides: the
x86-64 Python running this script, and the arm64 Python under ``qemu-aarch64-static`` (called
explicitly: no binfmt here). Each pack's default, and each non-default variant of each stage one at
a time, reads the check images; results must match: same text, boxes within 1 px, confidences
within 0.01. Differences are listed line by line with both texts; the summary line comes last and
the exit status is 0 only if everything matched (2: the emulator or debootstrap is missing).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgeocr.packs import find_pack_dir, load_pack  # noqa: E402

CACHE = Path(os.environ.get("EDGEOCR_ARM64_CACHE", Path.home() / ".cache" / "edgeocr-arm64"))
MIRROR = "http://deb.debian.org/debian"
SROIE = ROOT.parent / "shared" / "eval" / "sroie-dev" / "img"
PACKS = ("ppocrv6-small", "en-latin-v1")
STAGES = ("recognizer", "detector", "classifier")
BOX_PX, CONFIDENCE = 1.0, 0.01
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$")
# Bookworm has glibc 2.36: any manylinux tag up to 2_36 runs there.
# The Pi 4's Cortex-A72 has no dot-product instructions, the Pi 5's Cortex-A76 has them, and ONNX
# Runtime's INT8 kernels differ between the two: each is emulated as its own CPU model. Their
# /proc/cpuinfo goes into the root, where qemu's -L finds it before the host's: ONNX Runtime's
# cpuinfo library crashes (SIGSEGV at import) parsing an x86 /proc/cpuinfo as an ARM one.
CPUS = {
    "pi4": ("cortex-a72", "fp asimd evtstrm crc32 cpuid", "0x0", "0xd08", "3"),
    "pi5": ("cortex-a76", "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
            "lrcpc dcpop asimddp", "0x4", "0xd0b", "1"),
}
PLATFORMS = ["manylinux2014_aarch64"] + [f"manylinux_2_{minor}_aarch64" for minor in range(17, 37)]


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise SystemExit(f"arm64-check: {' '.join(command[:4])} ... failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def runtime_pins() -> list[str]:
    """The Dockerfiles' exact runtime pins: the closure the images (and a Pi) install."""
    pins = []
    for word in (ROOT / "Dockerfile.arm64").read_text().replace("\\\n", " ").split():
        if PIN.match(word):
            pins.append(word)
    return pins


def userland() -> Path:
    """The arm64 root (python3 and its libraries), built once."""
    root = CACHE / "root"
    if (root / ".edgeocr-ready").is_file():
        return root
    staging = CACHE / "root-tmp"
    if not (staging / "debootstrap").is_dir():  # a finished first stage leaves /debootstrap behind
        shutil.rmtree(staging, ignore_errors=True)
        run(["debootstrap", "--foreign", "--arch", "arm64", "--variant=minbase",
             "--include=python3,python3-venv,libgomp1", "bookworm", str(staging), MIRROR])
    # The first stage unpacks only the required packages; the included ones wait as .debs for a
    # second stage that needs to execute arm64 code. Unpacking them is all python3 needs.
    for deb in sorted((staging / "var" / "cache" / "apt" / "archives").glob("*.deb")):
        run(["dpkg-deb", "-x", str(deb), str(staging)])
    (staging / ".edgeocr-ready").write_text("debootstrap --foreign + dpkg-deb -x\n")
    staging.rename(root)
    return root


def emulate(root: Path, cpu: str) -> list[str]:
    """The command prefix that runs the arm64 Python as the given Pi's CPU."""
    model, features, variant, part, revision = CPUS[cpu]
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc" / "cpuinfo").write_text("".join(
        f"processor\t: {n}\nBogoMIPS\t: 108.00\nFeatures\t: {features}\nCPU implementer\t: 0x41\n"
        f"CPU architecture: 8\nCPU variant\t: {variant}\nCPU part\t: {part}\nCPU revision\t: {revision}\n\n"
        for n in range(os.cpu_count() or 1)))
    return [shutil.which("qemu-aarch64-static") or "qemu-aarch64-static", "-cpu", model, "-L", str(root),
            str(root / "usr" / "bin" / "python3")]


def site_packages(pins: list[str]) -> Path:
    """The pinned aarch64 wheels, installed into a folder the arm64 Python puts on its path."""
    site = CACHE / "site"
    stamp = site / ".pins"
    if stamp.is_file() and stamp.read_text().split() == pins:
        return site
    wheels = CACHE / "wheels"
    platform_flags = [flag for platform in PLATFORMS for flag in ("--platform", platform)]
    target = ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
              *platform_flags]
    run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", *target, "-d", str(wheels), *pins])
    shutil.rmtree(site, ignore_errors=True)
    run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--find-links", str(wheels),
         "--target", str(site), *target, *pins])
    stamp.write_text("\n".join(pins) + "\n")
    return site


def check_images(quick: bool) -> dict[str, list[Path]]:
    """Fixed images per pack: a rendered receipt, a rendered Chinese page, five SROIE-dev receipts."""
    from tests.rendering import encode, render_lines, render_text_page, reserved_cjk_font

    folder = CACHE / "images"
    folder.mkdir(parents=True, exist_ok=True)
    receipt, chinese = folder / "receipt.png", folder / "chinese.png"
    if not receipt.is_file():
        receipt.write_bytes(encode(render_lines(
            ["CORNER CAFE #0042", "12 Market Street, Springfield", "Date: 2024-03-15 09:42", "Latte 3.80",
             "Croissant 2.45", "Orange juice 4.10", "TOTAL 10.35", "Thank you!"], font_size=26)))
    if not chinese.is_file():
        chinese.write_bytes(encode(render_text_page(
            ["欢迎光临本店", "今天的价格是十二元", "地址：北京市海淀区", "谢谢惠顾 请再来"], reserved_cjk_font())))
    sroie = [SROIE / f"{index:03d}.jpg" for index in range(5)]
    missing = [str(path) for path in sroie if not path.is_file()]
    if missing:
        raise SystemExit(f"arm64-check: SROIE-dev images missing: {', '.join(missing)}")
    full = [receipt, chinese, *sroie]
    if quick:
        return {"ppocrv6-small": [receipt, chinese], "en-latin-v1": [receipt, sroie[0]]}
    return {pack: full for pack in PACKS}


def variant_sets(pack_name: str) -> list[dict[str, str]]:
    """The pack's defaults ({}), then each stage's other variants one at a time."""
    pack = load_pack(find_pack_dir(pack_name, None), verify=False)
    sets: list[dict[str, str]] = [{}]
    for stage in STAGES:
        spec = getattr(pack, stage)
        variants = (getattr(spec, "variants", None) or {}) if spec is not None else {}
        default = getattr(spec, "model", None)
        for name, file in variants.items():
            if file != default:
                sets.append({stage: name})
    return sets


def ocr(python: list[str], env: dict[str, str], pack: str, variants: dict[str, str], images: list[Path]) -> tuple[list[dict], float]:
    command = [*python, "-m", "edgeocr", "ocr", "--jsonl", "--pack", pack, "--threads", "1"]
    for stage, name in variants.items():
        command += ["--set", f"engine.{stage}_variant={name}"]
    started = time.perf_counter()
    done = run(command + [str(image) for image in images], env=env, cwd=ROOT, timeout=3600)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()], time.perf_counter() - started


def differences(here: dict, there: dict) -> list[str]:
    """Line-by-line differences between the x86-64 and the aarch64 result of one image."""
    found = []
    ours, theirs = here.get("text_lines", []), there.get("text_lines", [])
    for index in range(max(len(ours), len(theirs))):
        a = ours[index] if index < len(ours) else None
        b = theirs[index] if index < len(theirs) else None
        if a is None or b is None or a["text"] != b["text"]:
            found.append(f"line {index}: x86-64 {a['text'] if a else '<none>'!r} | aarch64 {b['text'] if b else '<none>'!r}")
            continue
        shift = max(abs(p - q) for pa, pb in zip(a["polygon"], b["polygon"]) for p, q in zip(pa, pb))
        gap = abs(a["confidence"] - b["confidence"])
        if shift > BOX_PX or gap > CONFIDENCE:
            found.append(f"line {index}: {a['text']!r} box off by {shift:g} px, confidence {a['confidence']:.4f} "
                         f"(x86-64) vs {b['confidence']:.4f} (aarch64)")
    return found


def label(variants: dict[str, str]) -> str:
    return ", ".join(f"{stage}={name}" for stage, name in variants.items()) or "defaults"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two images per pack")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--pack", action="append", choices=PACKS, help="only this pack (repeatable)")
    parser.add_argument("--only", action="append", metavar="STAGE=VARIANT",
                        help="only this variant set: 'defaults' or e.g. detector=fp32 (repeatable)")
    parser.add_argument("--cpu", action="append", choices=list(CPUS), help="only this emulated Pi CPU (repeatable)")
    args = parser.parse_args(argv)
    if shutil.which("qemu-aarch64-static") is None or shutil.which("debootstrap") is None:
        print("arm64-check: not run: needs qemu-aarch64-static and debootstrap (apt-get install qemu-user-static debootstrap)")
        return 2
    pins = runtime_pins()
    root, site = userland(), site_packages(pins)
    cpus = args.cpu or list(CPUS)
    arm_env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{site}", "HOME": str(CACHE), "LANG": "C.UTF-8",
               "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    host_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    version = run([*emulate(root, cpus[0]), "-c", "import platform, onnxruntime; print(platform.machine(), onnxruntime.__version__)"],
                  env=arm_env).stdout.split()
    print(f"arm64-check: aarch64 userland {root} (machine {version[0]}, onnxruntime {version[1]}); "
          f"emulated CPUs: {', '.join(f'{cpu} = {CPUS[cpu][0]}' for cpu in cpus)}", flush=True)
    images = check_images(args.quick)
    report: list[dict] = []
    compared = matched = 0
    seconds = {"x86-64": 0.0, "aarch64": 0.0}
    for pack in args.pack or PACKS:
        for variants in variant_sets(pack):
            if args.only and label(variants).replace(", ", ",") not in args.only:
                continue
            here, here_s = ocr([sys.executable], host_env, pack, variants, images[pack])
            seconds["x86-64"] += here_s
            for cpu in cpus:
                there, there_s = ocr(emulate(root, cpu), arm_env, pack, variants, images[pack])
                seconds["aarch64"] += there_s
                for image, a, b in zip(images[pack], here, there, strict=True):
                    diff = differences(a, b)
                    compared += 1
                    matched += not diff
                    status = "same" if not diff else f"{len(diff)} difference(s)"
                    print(f"{pack} [{label(variants)}] {cpu} {image.name}: {status}", flush=True)
                    for item in diff:
                        print(f"    {item}", flush=True)
                    report.append({"pack": pack, "variants": variants, "cpu": cpu, "image": image.name,
                                   "differences": diff, "lines": len(a.get("text_lines", [])),
                                   "x86_64_text": a.get("text"), "aarch64_text": b.get("text"),
                                   "x86_64_boxes": [line["polygon"] for line in a.get("text_lines", [])],
                                   "aarch64_boxes": [line["polygon"] for line in b.get("text_lines", [])]})
                print(f"    ({len(images[pack])} images: x86-64 {here_s:.1f} s, {cpu} under qemu {there_s:.1f} s)", flush=True)
    summary = (f"arm64-check: {matched}/{compared} results identical on aarch64 (qemu) and x86-64 "
               f"({'quick' if args.quick else 'full'}; x86-64 {seconds['x86-64']:.0f} s, aarch64 {seconds['aarch64']:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "onnxruntime": version[1], "pins": pins,
                                         "results": report}, ensure_ascii=False, indent=1) + "\n")
    print(summary)
    return 0 if matched == compared else 1


if __name__ == "__main__":
    sys.exit(main())
