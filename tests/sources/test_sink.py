"""The frame sink: JSON lines to a real file or stream, saved frames with sidecars, atomic writes."""
from __future__ import annotations

import io
import json
import threading
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np

from edgeocr.config import SourcesConfig
from edgeocr.fileio import utc_iso
from edgeocr.sources.sink import FrameSink, frame_record
from tests.sources.frames import jpeg


def test_captured_at_is_iso_8601_utc():
    stamp = utc_iso()
    assert stamp.endswith("Z")
    parsed = datetime.fromisoformat(stamp)
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - parsed) < timedelta(seconds=5)


def test_record_carries_source_index_and_time_before_the_result():
    record = frame_record("stdin", 3, "2026-01-02T03:04:05.678Z", {"success": True, "text": "A"})
    assert list(record)[:3] == ["source", "frame_index", "captured_at"]
    assert record == {"source": "stdin", "frame_index": 3, "captured_at": "2026-01-02T03:04:05.678Z",
                      "success": True, "text": "A"}


def test_stream_output_gets_one_flushed_line_per_record():
    class Recording(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            self.flushes += 1
            super().flush()

    stream = Recording()
    sink = FrameSink(stream=stream)
    sink.emit({"source": "stdin", "frame_index": 0, "text": "ünïcode"})
    sink.emit({"source": "stdin", "frame_index": 1, "text": "two"})
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["frame_index"] for line in lines] == [0, 1]
    assert json.loads(lines[0])["text"] == "ünïcode"
    assert stream.flushes == 2  # a consumer of the pipe sees each frame as it is done


def test_file_output_appends_and_keeps_existing_lines(tmp_path):
    out = tmp_path / "sub" / "frames.jsonl"
    out.parent.mkdir()
    out.write_text('{"earlier": true}\n')
    with FrameSink.from_config(SourcesConfig(output=str(out))) as sink:
        sink.emit({"frame_index": 0})
    with FrameSink(str(out)) as sink:
        sink.emit({"frame_index": 1})
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"earlier": True}, {"frame_index": 0}, {"frame_index": 1}]


def test_concurrent_writers_never_interleave_lines(tmp_path):
    # Two sinks on one file (camera and stdin threads), big records: every line must stay whole.
    out = tmp_path / "frames.jsonl"
    sinks = [FrameSink(str(out)), FrameSink(str(out))]
    payload = "x" * 20_000

    def write(sink: FrameSink, name: str) -> None:
        for i in range(150):
            sink.emit({"source": name, "frame_index": i, "text": payload})

    threads = [threading.Thread(target=write, args=(sink, f"s{n}")) for n, sink in enumerate(sinks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for sink in sinks:
        sink.close()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 300
    for name in ("s0", "s1"):
        assert [r["frame_index"] for r in records if r["source"] == name] == list(range(150))
    assert all(r["text"] == payload for r in records)


def test_saved_frame_and_sidecar_beside_it(tmp_path):
    frames_dir = tmp_path / "frames"
    stream = io.StringIO()
    data = jpeg("SAVED 1")
    sink = FrameSink(save_frames_dir=str(frames_dir), stream=stream)
    record = sink.emit(frame_record("camera:0", 7, "2026-11-25T10:01:03.123Z", {"success": True, "text": "SAVED 1"}),
                       data, ".jpg")
    path = frames_dir / "20261125T100103.123Z-camera-0-000007.jpg"
    assert record["frame_path"] == str(path)
    assert path.read_bytes() == data
    assert cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR) is not None
    sidecar = json.loads((frames_dir / (path.name + ".json")).read_text())
    line = json.loads(stream.getvalue())
    assert sidecar == line == record
    # Only the frame and its sidecar: no temporary files left behind.
    assert sorted(p.name for p in frames_dir.iterdir()) == [path.name, path.name + ".json"]


def test_records_without_a_frame_are_not_saved(tmp_path):
    sink = FrameSink(save_frames_dir=str(tmp_path), stream=io.StringIO())
    record = sink.emit({"source": "camera:0", "frame_index": 0, "success": False})
    assert "frame_path" not in record
    assert list(tmp_path.iterdir()) == []
