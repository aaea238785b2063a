"""The stdin source with the real engine: MJPEG streams and single images, in process and through
a real ``python -m edgeocr stream`` subprocess fed through a pipe."""
from __future__ import annotations

import io
import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edgeocr.cli import main
from edgeocr.config import Config, config_from_dict
from edgeocr.sources.sink import FrameSink
from edgeocr.sources.stdin import run_stdin_source
from tests.rendering import encode
from tests.sources.frames import jpeg, page

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["HELLO WORLD 1", "RECEIPT 2.50", "TOTAL 12.50"]


class TrickleStream(io.RawIOBase):
    """A pipe-like reader that hands out the data in small random pieces (split reads)."""

    def __init__(self, data: bytes, seed: int = 3) -> None:
        self._data, self._at, self._rng = data, 0, random.Random(seed)

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        piece = self._data[self._at:self._at + min(size, self._rng.randint(1, 2000))]
        self._at += len(piece)
        return piece

    read = read1


def run(engine, data: bytes | io.RawIOBase, config: Config | None = None, **sources) -> tuple[int, list[dict]]:
    config = config or config_from_dict({"sources": sources} if sources else {})
    out = io.StringIO()
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    status = run_stdin_source(engine, config, threading.Event(), stream, FrameSink(stream=out))
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def texts(records: list[dict]) -> list[str | None]:
    return [r.get("text") if r["success"] else r["error"]["code"] for r in records]


def test_mjpeg_stream_split_reads_garbage_and_truncated_tail(engine):
    frames = [jpeg(text) for text in TEXTS]
    data = b"\x00noise" + frames[0] + frames[1] + b"\xff\xffjunk" + frames[2] + jpeg("LOST")[:800]
    status, records = run(engine, TrickleStream(data))
    assert texts(records) == TEXTS + ["bad_image"]
    assert [r["frame_index"] for r in records] == [0, 1, 2, 3]
    assert all(r["source"] == "stdin" for r in records)
    assert "truncated" in records[3]["error"]["message"]
    assert records[3]["stream_offset"] == len(data) - 800
    # Timestamps are ISO-8601 UTC and in order.
    stamps = [r["captured_at"] for r in records]
    assert stamps == sorted(stamps) and all(s.endswith("Z") for s in stamps)
    assert status == 1  # a frame failed


def test_clean_stream_exits_zero(engine):
    status, records = run(engine, b"".join(jpeg(t, progressive=True) for t in TEXTS[:2]))
    assert texts(records) == TEXTS[:2]
    assert all(r["image"]["format"].lower() == "jpeg" for r in records)
    assert status == 0


def test_over_size_frame_is_skipped_and_the_next_is_read(engine):
    import cv2
    import numpy as np

    noise = np.random.default_rng(5).integers(0, 256, (500, 500, 3), dtype=np.uint8)
    big = encode(noise, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95])
    small = jpeg("INVOICE 9981")
    assert len(big) > 64 * 1024 > len(small)
    status, records = run(engine, TrickleStream(small + big + small), stdin={"max_frame_bytes": 64 * 1024})
    assert texts(records) == ["INVOICE 9981", "image_too_large", "INVOICE 9981"]
    assert "sources.stdin.max_frame_bytes" in records[1]["error"]["message"]
    assert status == 1


@pytest.mark.parametrize("mode", ["mjpeg", "single"])
def test_one_png_on_stdin(engine, mode):
    # mjpeg mode recognises a PNG by its signature and reads it whole, as single mode does.
    status, records = run(engine, TrickleStream(encode(page("PNG PAGE 42"), ".png")), stdin={"mode": mode})
    assert texts(records) == ["PNG PAGE 42"]
    assert records[0]["image"]["format"].lower() == "png"
    assert status == 0


def test_single_mode_reads_one_jpeg_whole(engine):
    status, records = run(engine, jpeg("SECOND FRAME 20"), stdin={"mode": "single"})
    assert texts(records) == ["SECOND FRAME 20"] and status == 0


def test_bad_inputs_give_error_records(engine):
    status, records = run(engine, b"")
    assert texts(records) == ["bad_image"] and "no JPEG frame" in records[0]["error"]["message"]
    assert status == 1
    status, records = run(engine, b"plain text, not an image\n" * 10, stdin={"mode": "single"})
    assert texts(records) == ["bad_image"] and status == 1
    limited = config_from_dict({"engine": {"max_bytes": 2000}, "sources": {"stdin": {"mode": "single"}}})
    status, records = run(engine, encode(page("PNG PAGE 42"), ".png"), limited)
    assert texts(records) == ["image_too_large"] and "engine.max_bytes" in records[0]["error"]["message"]


def test_cli_rejects_a_bad_source_setting_naming_the_key():
    err = io.StringIO()
    status = main(["stream", "--set", "sources.stdin.max_frame_bytes=5"], stdin=io.BytesIO(b""),
                  stdout=io.StringIO(), stderr=err)
    assert status == 78
    assert "sources.stdin.max_frame_bytes" in err.getvalue()


def _stream_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edgeocr", "stream", *args], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_subprocess_stream_piped_in_pieces(tmp_path):
    frames = [jpeg(text) for text in TEXTS]
    data = frames[0] + b"garbage" + frames[1] + frames[2] + frames[0][:500]
    out = tmp_path / "frames.jsonl"
    saved = tmp_path / "saved"
    process = _stream_process("--output", str(out), "--save-frames", str(saved))
    try:
        # Written in pieces with pauses, as a camera pipe delivers it.
        for at in range(0, len(data), 3000):
            process.stdin.write(data[at:at + 3000])
            process.stdin.flush()
            time.sleep(0.02)
        process.stdin.close()
        status = process.wait(timeout=120)
    finally:
        process.kill()
        process.wait()
    stderr = process.stderr.read().decode()
    process.stdout.close()
    process.stderr.close()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert texts(records) == TEXTS + ["bad_image"], stderr
    assert status == 1
    for record, frame in zip(records[:3], frames):
        path = Path(record["frame_path"])
        assert path.parent == saved and path.read_bytes() == frame
        assert json.loads((saved / (path.name + ".json")).read_text()) == record
    assert "frame_path" not in records[3]


def test_subprocess_stops_on_sigterm_while_the_pipe_stays_open():
    process = _stream_process()
    try:
        process.stdin.write(jpeg("HELLO WORLD 1"))
        process.stdin.flush()
        first = json.loads(process.stdout.readline())  # blocks until the frame is recognised
        assert first["text"] == "HELLO WORLD 1"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=10)
        assert time.monotonic() - started < 5
        assert status == 0
    finally:
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout, process.stderr):
            pipe.close()


def test_subprocess_ends_quietly_when_the_reader_goes_away():
    # `edgeocr stream | head -1`: after the first line nobody reads stdout any more.
    process = _stream_process()
    try:
        process.stdin.write(jpeg("HELLO WORLD 1"))
        process.stdin.flush()
        assert json.loads(process.stdout.readline())["text"] == "HELLO WORLD 1"
        process.stdout.close()
        process.stdin.write(jpeg("RECEIPT 2.50") + jpeg("TOTAL 12.50"))
        process.stdin.close()
        status = process.wait(timeout=60)
        stderr = process.stderr.read().decode()
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    assert status == 0, stderr
    assert "Traceback" not in stderr, stderr
