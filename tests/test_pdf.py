"""PDF in and searchable PDF out on the real engine, the real pypdfium2/pikepdf and poppler's pdftotext."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeocr.config import Config, with_overrides
from edgeocr.pdf_input import auto_dpi
from edgeocr.pdf_output import searchable_pdf
from tests.pdf_samples import (MIXED_PAGES, blank_pdf, cer, encrypted_pdf, mixed_pdf, page_image, pdftotext,
                               scan_pdf, squash, truncated_pdf)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mixed() -> bytes:
    return mixed_pdf()


@pytest.fixture(scope="module")
def mixed_result(engine, mixed) -> dict:
    return engine.run_document(mixed)


def test_a_two_page_mixed_pdf_gives_pages_with_boxes_in_pixels_and_points(mixed_result):
    assert mixed_result["success"], mixed_result
    assert [p["page"] for p in mixed_result["pages"]] == [1, 2]
    assert mixed_result["pages_read_from"] == ["ocr", "ocr"]
    assert mixed_result["image"]["format"] == "PDF" and mixed_result["image"]["pages"] == 2
    for page, lines in zip(mixed_result["pages"], MIXED_PAGES):
        assert page["pdf"]["dpi"] == 300.0  # auto: the 48-px recognizer
        assert cer(squash("".join(lines)), squash(page["text"])) <= 0.1, page["text"]
        first = page["text_lines"][0]
        # The page was drawn at 300 dpi: the text starts 80 px = 19.2 pt from the left edge.
        assert first["box_pt"][0] == pytest.approx(first["box"][0] * 72 / 300, abs=0.01)
        assert 12 < first["box_pt"][0] < 26
    assert mixed_result["text"].count("\f") == 1


def test_auto_dpi_follows_the_recognizer_height():
    assert auto_dpi(48) == 300
    assert auto_dpi(32) == 200


def test_the_searchable_pdf_gives_our_text_back_through_pdftotext(tmp_path, mixed, mixed_result):
    out = tmp_path / "out.pdf"
    out.write_bytes(searchable_pdf(mixed, mixed_result))
    extracted = pdftotext(out)
    assert "今天天气" in extracted and "Second page" in extracted
    for page, text in zip(mixed_result["pages"], extracted.split("\f")):
        assert cer(squash(page["text"]), squash(text)) <= 0.01, (page["text"], text)
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    assert "Identity-H" in fonts and " yes " in fonts  # a CID font, embedded: no viewer substitutes one


def test_the_input_pages_are_kept_as_they_are(mixed, mixed_result):
    import pikepdf

    out = searchable_pdf(mixed, mixed_result)
    with pikepdf.open(io.BytesIO(mixed)) as before, pikepdf.open(io.BytesIO(out)) as after:
        for old, new in zip(before.pages, after.pages):
            old_images = {name: image.read_raw_bytes() for name, image in old.get_images().items()}
            new_images = {name: image.read_raw_bytes() for name, image in new.get_images().items()}
            assert old_images == new_images  # the JPEG data itself, not re-compressed
            assert list(old.mediabox) == list(new.mediabox)
    assert len(out) <= len(mixed) * 1.05


def test_a_scan_like_page_is_read_and_made_searchable(engine, tmp_path):
    data = scan_pdf()
    result = engine.run_document(data)
    assert result["success"] and "TOTAL" in result["text"]
    out = tmp_path / "scan.pdf"
    out.write_bytes(searchable_pdf(data, result))
    assert "TOTAL" in pdftotext(out)


def test_pages_with_a_text_layer_are_taken_from_it_when_asked(tmp_path, mixed, mixed_result):
    from edgeocr.engine import Engine

    searchable = searchable_pdf(mixed, mixed_result)
    engine = Engine(with_overrides(Config(), {"pdf.use_text_layer": True, "engine.orientation": False}))
    result = engine.run_document(searchable + b"")
    assert result["pages_read_from"] == ["text_layer", "text_layer"]
    assert squash(result["text"]) == squash(mixed_result["text"])
    # A scan without text is still recognized in the same run.
    assert engine.run_document(scan_pdf())["pages_read_from"] == ["ocr"]


@pytest.mark.parametrize("make, code", [
    (lambda: encrypted_pdf(mixed_pdf()), "pdf_encrypted"),
    (lambda: truncated_pdf(mixed_pdf()), "pdf_broken"),
    (lambda: b"%PDF-1.7\n" + b"\0" * 5000, "pdf_broken"),
])
def test_bad_pdfs_get_a_clear_code(engine, make, code):
    result = engine.run_document(make())
    assert not result["success"]
    assert result["error"]["code"] == code, result


def test_a_page_count_bomb_is_refused_from_the_header(engine):
    data = blank_pdf(2000)
    started = time.perf_counter()
    result = engine.run_document(data)
    assert result["error"]["code"] == "too_many_pages"
    assert "2000 pages" in result["error"]["message"] and "engine.max_pages" in result["error"]["message"]
    assert time.perf_counter() - started < 5  # no page was rendered (a wide margin, not a speed target)


def test_a_page_size_bomb_is_refused_from_the_header(engine):
    result = engine.run_document(blank_pdf(1, 20_000, 20_000))
    assert result["error"]["code"] == "image_too_large"


def test_a_big_page_is_rendered_smaller_to_fit_max_pixels(tmp_path):
    from edgeocr.engine import Engine

    engine = Engine(with_overrides(Config(), {"engine.max_pixels": 4_000_000, "engine.orientation": False}))
    result = engine.run_document(mixed_pdf())  # 1240x700 px at 300 dpi: fits; now an A3 page
    assert result["pages"][0]["pdf"]["dpi"] == 300.0
    a3 = engine.run_document(blank_pdf(1, 842, 1191))
    assert a3["success"] and a3["pages"][0]["pdf"]["dpi"] < 200
    assert a3["pages"][0]["image"]["width"] * a3["pages"][0]["image"]["height"] <= 4_000_000


def _edgeocr(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeocr", *args], cwd=REPO, input=stdin, capture_output=True,
                          timeout=120)


def test_cli_reads_a_pdf_and_writes_a_searchable_one(tmp_path, mixed):
    source = tmp_path / "scan.pdf"
    source.write_bytes(mixed)
    out = tmp_path / "scan.ocr.pdf"
    done = _edgeocr("ocr", str(source), "--pdf", str(out), "--set", "engine.orientation=false")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["pages"]) == 2 and result["source"] == str(source)
    assert cer(squash(result["text"]), squash(pdftotext(out))) <= 0.01


def test_cli_reports_bad_pdfs_and_still_reads_the_rest(tmp_path, mixed):
    (tmp_path / "locked.pdf").write_bytes(encrypted_pdf(mixed))
    (tmp_path / "cut.pdf").write_bytes(truncated_pdf(mixed))
    page = io.BytesIO()
    page_image(["TOTAL 12.20"]).save(page, "PNG")
    (tmp_path / "page.png").write_bytes(page.getvalue())
    from edgeocr.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()  # in process (the subprocess path is tested above)
    status = main(["ocr", "--jsonl", str(tmp_path / "locked.pdf"), str(tmp_path / "cut.pdf"),
                   str(tmp_path / "page.png"), "--set", "engine.orientation=false"], io.BytesIO(), stdout, stderr)
    assert status == 1
    codes = [json.loads(line).get("error", {}).get("code") for line in stdout.getvalue().splitlines()]
    assert codes == ["pdf_encrypted", "pdf_broken", None]
    assert "pdf_encrypted" in stderr.getvalue()


def test_an_image_input_gets_a_searchable_pdf_too(engine, tmp_path):
    page = io.BytesIO()
    page_image(["TOTAL 12.20"]).save(page, "PNG", dpi=(300, 300))
    result = engine.run_document(page.getvalue())
    out = tmp_path / "png.pdf"
    out.write_bytes(searchable_pdf(page.getvalue(), result))
    assert "TOTAL" in pdftotext(out)  # the image as one page, the text over it


def test_stdin_single_reads_a_pdf(engine, mixed):
    import threading

    from edgeocr.sources.stdin import run_stdin_source

    config = with_overrides(Config(), {"sources.stdin.mode": "single"})
    out = io.StringIO()
    from edgeocr.sources.sink import FrameSink

    with FrameSink("-", None, out) as sink:
        status = run_stdin_source(engine, config, threading.Event(), io.BytesIO(mixed), sink)
    assert status == 0
    record = json.loads(out.getvalue().splitlines()[0])
    assert "今天" in json.dumps(record, ensure_ascii=False)
