"""Build the ``ppocrv6-small`` pack from the PP-OCRv6 small models inside the rapidocr wheel.

    python -m edgeocr.pack_import --out models/ppocrv6-small             # pip downloads the wheel
    python -m edgeocr.pack_import --wheel rapidocr-3.10.0-py3-none-any.whl --out models/ppocrv6-small

The wheel is fetched with ``pip download --no-deps rapidocr==3.10.0`` at pack-build time, never at
run time. Every model file must match the sha256 pinned here and the one the wheel's own
``MODEL_LICENSES.md`` records; otherwise nothing is written. The pack gets the upstream files
unchanged, the recognizer's character list (ONNX metadata key ``character``) as ``charset.txt``,
INT8 copies made by ``edgeocr.quantize`` (each marked as changed by us, as Apache-2.0 section 4
asks), the full licence, a NOTICE with the upstream attribution, and provenance in ``pack.yaml``.
Needs the ``[train]`` extra (``onnx``, and the page and line renderers for calibration).
"""
from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
import yaml

from .detect.db import DbParams, resize_for_db
from .errors import ModelPackError
from .inputspec import resize_line, to_batch, to_channels
from .packs import DEFAULT_INPUTS, PACK_FILE, family_input, load_pack, sha256_file

WHEEL = "rapidocr"
WHEEL_VERSION = "3.10.0"
PACK_NAME = "ppocrv6-small"
PACK_VERSION = "1.0.0"
CHARSET_KEY = "character"
CHARSET_ENTRIES = 18708
# member path in the wheel -> (file name in the pack, sha256 pinned here)
MODELS = {
    "det": ("rapidocr/models/PP-OCRv6_det_small.onnx",
            "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"),
    "rec": ("rapidocr/models/PP-OCRv6_rec_small.onnx",
            "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"),
    "cls": ("rapidocr/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx",
            "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"),
}
UPSTREAM = {"det": "PP-OCRv6_small_det", "rec": "PP-OCRv6_small_rec", "cls": "ch_ppocr_mobile_v2.0_cls"}
LICENSE_MEMBER = f"{WHEEL}-{WHEEL_VERSION}.dist-info/licenses/LICENSE"
MODEL_LICENSES_MEMBER = f"{WHEEL}-{WHEEL_VERSION}.dist-info/licenses/MODEL_LICENSES.md"

# Which copy of each model ships as the pack's default, measured by bench/eval_int8.py (README,
# bench/int8-results.md): the fastest within 0.3 points of FP32 on word F1 and line CER.
SHIPPED = {"det": "int8", "rec": "int8-matmul", "cls": "fp32"}
# Chosen on held-out training-font renders by bench/calibrate_spaces.py (bench/space-calibration.md).
SPACE_THRESHOLD = 0.1
DB_SETTINGS = {"threshold": 0.3, "box_threshold": 0.5, "unclip_ratio": 1.6, "limit_side": 960}
CALIBRATION_SEED = 17
CALIBRATION_PAGES = 8
CALIBRATION_LINES = 48
CALIBRATION_SIDE = 640  # percentile calibration holds every activation of every input in memory: ~3 GB here


def fetch_wheel(folder: Path) -> Path:
    """``pip download --no-deps`` of the pinned wheel into ``folder``."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(folder),
               f"{WHEEL}=={WHEEL_VERSION}"]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(folder.glob(f"{WHEEL}-{WHEEL_VERSION}-*.whl"))
    if done.returncode != 0 or not wheels:
        raise ModelPackError(f"pip download {WHEEL}=={WHEEL_VERSION} failed: {done.stderr.strip()[-400:]}")
    return wheels[0]


def recorded_hashes(model_licenses: str) -> dict[str, str]:
    """File name -> sha256 from the table in the wheel's MODEL_LICENSES.md."""
    found = {}
    for name, digest in re.findall(r"\|\s*`([^`]+\.onnx)`\s*\|[^|]*\|\s*`([0-9a-f]{64})`\s*\|", model_licenses):
        found[name] = digest
    return found


def extract_verified(wheel: Path, out: Path) -> dict[str, Path]:
    """The three model files, the licence and MODEL_LICENSES.md, each checked before it is kept."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelPackError(f"{wheel}: not a readable wheel ({exc})") from None
    with archive:
        names = set(archive.namelist())
        for member in [m for m, _ in MODELS.values()] + [LICENSE_MEMBER, MODEL_LICENSES_MEMBER]:
            if member not in names:
                raise ModelPackError(f"{wheel}: {member} is missing; is this {WHEEL} {WHEEL_VERSION}?")
        recorded = recorded_hashes(archive.read(MODEL_LICENSES_MEMBER).decode("utf-8"))
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            for part, (member, pinned) in MODELS.items():
                target = Path(tmp) / Path(member).name
                with archive.open(member) as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink)
                actual = sha256_file(target)
                if actual != pinned:
                    raise ModelPackError(f"{wheel}: {member} has sha256 {actual}, edgeocr pins {pinned}; refusing it")
                if recorded.get(target.name) != pinned:
                    raise ModelPackError(f"{wheel}: MODEL_LICENSES.md records {recorded.get(target.name)} for "
                                         f"{target.name}, edgeocr pins {pinned}; refusing it")
            for part, (member, _) in MODELS.items():
                final = out / Path(member).name
                shutil.move(str(Path(tmp) / final.name), final)
                written[part] = final
        (out / "LICENSE").write_bytes(archive.read(LICENSE_MEMBER))
        (out / "MODEL_LICENSES.md").write_bytes(archive.read(MODEL_LICENSES_MEMBER))
    return written


def write_charset(rec_model: Path, out: Path) -> Path:
    """The recognizer's characters plus the space its last class stands for, one per line."""
    import onnx

    model = onnx.load(str(rec_model), load_external_data=False)
    metadata = {p.key: p.value for p in model.metadata_props}
    if CHARSET_KEY not in metadata:
        raise ModelPackError(f"{rec_model}: no '{CHARSET_KEY}' metadata; not the PP-OCR recognizer expected")
    chars = metadata[CHARSET_KEY].split("\n")
    if len(chars) != CHARSET_ENTRIES or any(len(c) != 1 for c in chars):
        raise ModelPackError(f"{rec_model}: '{CHARSET_KEY}' has {len(chars)} entries (expected {CHARSET_ENTRIES}, "
                             "one character each)")
    path = out / "charset.txt"
    path.write_text("".join(c + "\n" for c in chars + [" "]), encoding="utf-8")
    return path


# -- calibration: our own renders, never SROIE ---------------------------------------------------


def calibration_pages(count: int = CALIBRATION_PAGES) -> list[np.ndarray]:
    """Rendered pages (receipts, forms, documents, screenshots, signs) in colour."""
    from .train.fonts import latin_training_fonts
    from .train.pages import render_page

    fonts = latin_training_fonts()
    return [cv2.cvtColor(render_page(CALIBRATION_SEED, i, fonts).image, cv2.COLOR_GRAY2BGR) for i in range(count)]


def calibration_lines(count: int = CALIBRATION_LINES) -> list[np.ndarray]:
    """Rendered lines, half Latin and half Chinese/mixed, from the training fonts only."""
    from .train.charset import latin_charset, zh_en_charset
    from .train.corpus import sample_english_line
    from .train.corpus_zh import sample_zh_en_line
    from .train.fonts import latin_training_fonts, zh_en_training_fonts
    from .train.render import Degradation, font_covers, render_line

    rng = random.Random(CALIBRATION_SEED)
    charset, latin_chars = zh_en_charset(), latin_charset()
    latin, mixed = latin_training_fonts(), zh_en_training_fonts()
    lines = []
    while len(lines) < count:
        chinese = len(lines) % 2 == 1
        text = sample_zh_en_line(rng, charset) if chinese else sample_english_line(rng, latin_chars)
        fonts = [f for f in (mixed if chinese else latin) if font_covers(f, text)]
        if fonts:
            image = render_line(text, rng.choice(fonts), rng, 48, Degradation(rng.uniform(0.0, 0.6)))
            lines.append(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    return lines


def page_tensors(pages: list[np.ndarray], params: DbParams) -> list[np.ndarray]:
    spec = family_input("db")
    out = []
    for page in pages:
        resized, _, _ = resize_for_db(to_channels(page, spec), DbParams(**{**params.__dict__, "limit_side": CALIBRATION_SIDE}))
        # One shape for every sample: the histogram calibrator keeps one histogram per tensor.
        canvas = np.full((CALIBRATION_SIDE, CALIBRATION_SIDE, 3), 255, np.uint8)
        canvas[: resized.shape[0], : resized.shape[1]] = resized[:CALIBRATION_SIDE, :CALIBRATION_SIDE]
        out.append(to_batch([canvas], spec))
    return out


def line_tensors(lines: list[np.ndarray], family: str, width: int) -> list[np.ndarray]:
    spec = family_input(family)
    return [to_batch([resize_line(line, spec, width=width)], spec) for line in lines]


def build_variants(files: dict[str, Path], out: Path, log=print) -> dict[str, dict[str, Path]]:
    """INT8 copies of each model: static QDQ for all three; for the recognizer also dynamic
    MatMul-only, and static convolutions with dynamic MatMul."""
    from .quantize import quantize_dynamic_matmul, quantize_static_qdq

    log("rendering calibration pages and lines (our own renders, training fonts only)")
    pages, lines = calibration_pages(), calibration_lines()
    variants: dict[str, dict[str, Path]] = {part: {"fp32": path} for part, path in files.items()}
    jobs = {
        "det": page_tensors(pages, DbParams(**DB_SETTINGS)),
        "rec": line_tensors(lines, "ppocr-ctc", 320),
        "cls": line_tensors(lines, "cls-0-180", 192),
    }
    for part, tensors in jobs.items():
        target = out / files[part].name.replace(".onnx", ".int8.onnx")
        log(f"static INT8 of {files[part].name} ({len(tensors)} calibration inputs)")
        variants[part]["int8"] = quantize_static_qdq(files[part], target, "x", tensors)
    target = out / files["rec"].name.replace(".onnx", ".int8-matmul.onnx")
    log(f"dynamic MatMul-only INT8 of {files['rec'].name}")
    variants["rec"]["int8-matmul"] = quantize_dynamic_matmul(files["rec"], target)
    variants["rec"]["int8-conv-matmul"] = conv_matmul_variant(files["rec"], out, jobs["rec"], log)
    return variants


def conv_matmul_variant(rec: Path, out: Path, tensors: list, log=print) -> Path:
    from .quantize import quantize_convs_then_matmul

    target = out / rec.name.replace(".onnx", ".int8-conv-matmul.onnx")
    log(f"static INT8 of the convolutions, dynamic of the MatMuls, of {rec.name} ({len(tensors)} calibration inputs)")
    return quantize_convs_then_matmul(rec, target, "x", tensors)


NOTICE = """edgeocr model pack {name} {version}

This pack contains model files from PaddleOCR (https://github.com/PaddlePaddle/PaddleOCR):
  {det}  (upstream {up_det})
  {rec}  (upstream {up_rec})
  {cls}  (upstream {up_cls})
Copyright Baidu and/or the applicable PaddleOCR rights holders, licensed under the Apache
License, Version 2.0 (LICENSE in this folder). They were converted to ONNX and packaged by the
RapidOCR project (copyright the RapidOCR Authors, Apache-2.0) and taken unchanged from the
{wheel}=={wheel_version} wheel on PyPI; MODEL_LICENSES.md is RapidOCR's record of their origin
and SHA-256, and pack.yaml repeats each hash.

Modified files (Apache-2.0 section 4(b)): every file named *.int8.onnx, *.int8-matmul.onnx or
*.int8-conv-matmul.onnx was derived from the upstream file of the same stem by edgeocr
(pack_import.py): the graph was upgraded to opset 13 and quantized to INT8 by ONNX Runtime's quantization tools, calibrated on
images rendered by edgeocr. The weights were not retrained. charset.txt is the recognizer's
'character' metadata, one entry per line, with the space that its last output class stands for.
"""


def write_pack(out: Path, variants: dict[str, dict[str, Path]], shipped: dict[str, str] | None = None) -> Path:
    shipped = shipped or SHIPPED
    chosen = {part: variants[part].get(shipped[part], variants[part]["fp32"]) for part in variants}
    # Every copy is listed by name (the shipped one too), so a benchmark can ask for any of them.
    others = {part: {k: p.name for k, p in v.items()} for part, v in variants.items()}
    names = sorted({p.name for v in variants.values() for p in v.values()} | {"charset.txt", "LICENSE", "NOTICE",
                                                                               "MODEL_LICENSES.md"})
    fp32 = {part: v["fp32"].name for part, v in variants.items()}
    (out / "NOTICE").write_text(NOTICE.format(
        name=PACK_NAME, version=PACK_VERSION, det=fp32["det"], rec=fp32["rec"], cls=fp32["cls"],
        up_det=UPSTREAM["det"], up_rec=UPSTREAM["rec"], up_cls=UPSTREAM["cls"], wheel=WHEEL,
        wheel_version=WHEEL_VERSION), encoding="utf-8")
    data = {
        "name": PACK_NAME, "version": PACK_VERSION, "license": "Apache-2.0",
        "scripts": ["latin", "han"],
        "trained_on": "PaddleOCR's own training data (upstream PP-OCRv6 small); not retrained by edgeocr",
        "provenance": {
            "upstream": "PaddleOCR (https://github.com/PaddlePaddle/PaddleOCR), PP-OCRv6 small det/rec, "
                        "ch_ppocr_mobile_v2.0_cls",
            "wheel": f"{WHEEL}=={WHEEL_VERSION} (PyPI), converted to ONNX by RapidOCR",
            "built_by": "python -m edgeocr.pack_import",
            "upstream_sha256": {Path(m).name: h for m, h in MODELS.values()},
            "modified_by_edgeocr": sorted(p.name for v in variants.values() for k, p in v.items() if k != "fp32"),
            "shipped_variants": dict(shipped),
        },
        "files": {name: {"sha256": sha256_file(out / name)} for name in names},
        "recognizer": {"type": "ppocr-ctc", "model": chosen["rec"].name, "variants": others["rec"],
                       "charset": "charset.txt", "blank_index": 0, "batch_size": 1, "space_threshold": SPACE_THRESHOLD,
                       "input": DEFAULT_INPUTS["ppocr-ctc"]},
        "detector": {"type": "db", "model": chosen["det"].name, "variants": others["det"],
                     "input": {"channels": 3, "mean": [0.5], "std": [0.5]}, "settings": dict(DB_SETTINGS)},
        "classifier": {"type": "cls-0-180", "model": chosen["cls"].name, "variants": others["cls"],
                       "input": DEFAULT_INPUTS["cls-0-180"], "settings": {"line_threshold": None, "vote_sample": 12}},
    }
    (out / PACK_FILE).write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    load_pack(out)  # refuse to leave behind a pack the engine would refuse
    return out


def import_pack(out: Path, wheel: Path | None = None, int8: bool = True, log=print) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            log(f"pip download --no-deps {WHEEL}=={WHEEL_VERSION}")
            wheel = fetch_wheel(Path(tmp))
        files = extract_verified(wheel, out)
    write_charset(files["rec"], out)
    variants = build_variants(files, out, log) if int8 else {part: {"fp32": path} for part, path in files.items()}
    return write_pack(out, variants, SHIPPED if int8 else {part: "fp32" for part in files})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("models") / PACK_NAME)
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL}-{WHEEL_VERSION} wheel (default: pip download)")
    parser.add_argument("--no-int8", action="store_true", help="only the upstream FP32 files")
    args = parser.parse_args(argv)
    try:
        pack = import_pack(args.out, args.wheel, int8=not args.no_int8)
    except ModelPackError as exc:
        print(f"edgeocr: {exc.message}", file=sys.stderr)
        return 78
    print(f"wrote pack {PACK_NAME} to {pack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
