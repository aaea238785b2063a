"""The ``edgeocr`` command, in-process for most checks and as a real subprocess for the console script."""
from __future__ import annotations

import io
import re
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from edgeocr.cli import EXIT_CONFIG, EXIT_INPUT_FAILED, EXIT_OK, main

from .rendering import encode, render_lines

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def images(tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(encode(render_lines(["Hello from edgeocr"])))
    other = tmp_path / "other.jpg"
    other.write_bytes(encode(render_lines(["Second file 99"]), ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95]))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return good, other, broken


def test_ocr_one_file_prints_json(images):
    good, _, _ = images
    code, out, err = run_cli("ocr", str(good))
    assert code == EXIT_OK and err == ""
    result = json.loads(out)
    assert result["success"] is True
    assert [line["text"] for line in result["text_lines"]] == ["Hello from edgeocr"]
    assert result["source"] == str(good)


def test_failures_are_reported_and_the_rest_processed(images, tmp_path):
    good, other, broken = images
    missing = tmp_path / "missing.png"
    code, out, err = run_cli("ocr", "--jsonl", str(good), str(broken), str(missing), str(other))
    assert code == EXIT_INPUT_FAILED
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["success"] for r in records] == [True, False, False, True]
    assert records[1]["error"]["code"] == "bad_image"
    assert records[2]["error"]["code"] == "file_unreadable"
    assert records[3]["text_lines"][0]["text"] == "Second file 99"
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"edgeocr: {broken}: bad_image:")
    assert lines[1] == f"edgeocr: {missing}: file_unreadable: {missing}: no such file"


def test_text_output_and_stdin(images):
    good, _, _ = images
    code, out, _ = run_cli("ocr", "--text", "-", stdin=good.read_bytes())
    assert code == EXIT_OK
    assert out == "Hello from edgeocr\n"


def test_directory_is_not_an_image(tmp_path):
    code, _, err = run_cli("ocr", str(tmp_path))
    assert code == EXIT_INPUT_FAILED
    assert "file_unreadable" in err


def test_bad_config_key_exits_78_naming_key_and_file(images, tmp_path):
    good, _, _ = images
    config = tmp_path / "edgeocr.yaml"
    config.write_text("engine:\n  treads: 2\n")
    code, out, err = run_cli("ocr", "--config", str(config), str(good))
    assert code == EXIT_CONFIG and out == ""
    assert str(config) in err and "engine.treads" in err


def test_set_override_is_validated(images):
    good, _, _ = images
    code, _, err = run_cli("ocr", "--set", "engine.beam_width=-3", str(good))
    assert code == EXIT_CONFIG
    assert "engine.beam_width" in err


def test_models_list_and_verify():
    code, out, _ = run_cli("models", "list")
    assert code == EXIT_OK
    header, *rows = out.splitlines()
    # Columns are separated by two or more spaces; a cell such as "3.1 MB" holds one.
    columns = re.split(r"\s{2,}", header.strip())
    assert columns[:6] == ["NAME", "VERSION", "SCRIPTS", "SIZE", "LICENCE", "MODELS"]
    listed = {cells[0]: dict(zip(columns, cells)) for cells in (re.split(r"\s{2,}", row.strip()) for row in rows)}
    assert listed["en-latin-v1"]["SCRIPTS"] == "latin" and listed["ppocrv6-small"]["SCRIPTS"] == "latin,han"
    assert listed["ppocrv6-small"]["MODELS"] == "db+ppocr-ctc+cls-0-180"
    assert listed["ppocrv6-small"]["LICENCE"] == "Apache-2.0"
    assert listed["ppocrv6-small"]["SIZE"].endswith("MB")
    code, out, _ = run_cli("models", "verify", "en-latin-v1")
    assert code == EXIT_OK and out.startswith("ok\ten-latin-v1")


def test_models_verify_names_the_damaged_file(tmp_path):
    copy = tmp_path / "models" / "en-latin-v1"
    shutil.copytree(ROOT / "models" / "en-latin-v1", copy)
    charset = copy / "charset.txt"
    charset.write_text(charset.read_text() + "Z\n")
    code, out, err = run_cli("models", "verify", "--models-dir", str(tmp_path / "models"))
    assert code == EXIT_CONFIG
    assert "FAILED\ten-latin-v1" in out
    assert "en-latin-v1" in err and "charset.txt" in err and "damaged" in err


def test_console_script_reads_stdin_in_a_real_process(images):
    good, _, _ = images
    command = [sys.executable, "-m", "edgeocr", "ocr", "--text", "-"]
    done = subprocess.run(command, input=good.read_bytes(), capture_output=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == "Hello from edgeocr\n"
