"""The camera source on real video files and a real MJPEG-over-HTTP stream.

There is no camera on the test machines. OpenCV's ``VideoCapture`` opens a video file or a
stream URL through the same interface as a device, so these tests write MJPG .avi files of
rendered text frames with ``cv2.VideoWriter``, or serve frames the way IP cameras do
(multipart/x-mixed-replace over HTTP on 127.0.0.1), and point the source at them; the engine is
the real one.
"""
from __future__ import annotations

import io
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgeocr.config import CameraSourceConfig, config_from_dict
import edgeocr.sources.camera as camera_module
from edgeocr.sources.camera import frame_change, run_camera_source, thumbnail
from edgeocr.sources.sink import FrameSink
from tests.sources.frames import HEIGHT, WIDTH, jpeg, page, write_video


def noisy(frame: np.ndarray, seed: int = 0, sigma: float = 4.0, brighter: float = 0.0) -> np.ndarray:
    """The same scene with Gaussian sensor noise and, optionally, an exposure step."""
    jitter = np.random.default_rng(seed).normal(brighter, sigma, frame.shape)
    return np.clip(frame.astype(np.float32) + jitter, 0, 255).astype(np.uint8)


def camera_config(device: Path | str, **camera):
    return config_from_dict({"sources": {"camera": {"device": str(device), **camera}}})


def run_camera(engine, config, sink=None, stop_event=None):
    out = io.StringIO()
    stats = run_camera_source(engine, config, stop_event or threading.Event(), sink or FrameSink(stream=out))
    return stats, [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture(scope="module")
def scenes() -> dict[str, np.ndarray]:
    return {text: page(text) for text in ("TOTAL 12.50", "CHANGE 7.25")}


def test_change_measure_separates_noise_and_exposure_from_new_text(scenes):
    a, b = scenes["TOTAL 12.50"], scenes["CHANGE 7.25"]
    default = CameraSourceConfig().min_change
    assert frame_change(thumbnail(a), thumbnail(noisy(a, sigma=8))) < default
    assert frame_change(thumbnail(a), thumbnail(noisy(a, sigma=2, brighter=10))) < default
    assert frame_change(thumbnail(a), thumbnail(b)) > 10 * default
    # One character out of eleven changed is still a change.
    assert frame_change(thumbnail(a), thumbnail(page("TOTAL 12.59"))) > default
    assert frame_change(None, thumbnail(a)) == 100.0
    assert frame_change(thumbnail(a), thumbnail(cv2.resize(a, (320, 200)))) == 100.0


def test_unchanged_frames_are_skipped_changed_ones_read(engine, tmp_path, scenes):
    a, b = scenes["TOTAL 12.50"], scenes["CHANGE 7.25"]
    video = write_video(tmp_path / "desk.avi", [a, a, noisy(a), b, noisy(b, 1, brighter=6), a])
    stats, records = run_camera(engine, camera_config(video, interval_seconds=0))  # default min_change
    assert [r["text"] for r in records] == ["TOTAL 12.50", "CHANGE 7.25", "TOTAL 12.50"]
    assert (stats.frames_read, stats.processed, stats.skipped_unchanged, stats.outages) == (6, 3, 3, 0)
    assert [r["frame_index"] for r in records] == [0, 1, 2]
    assert all(r["source"] == f"camera:{video}" and r["captured_at"].endswith("Z") for r in records)
    assert records[0]["frame_change"] == 100.0 and records[1]["frame_change"] > 1.0
    assert records[0]["image"]["format"] == "array"


def test_min_change_zero_reads_every_sampled_frame(engine, tmp_path, scenes):
    a = scenes["TOTAL 12.50"]
    video = write_video(tmp_path / "still.avi", [a, a, a])
    stats, records = run_camera(engine, camera_config(video, interval_seconds=0, min_change=0))
    assert [r["text"] for r in records] == ["TOTAL 12.50"] * 3
    assert stats.skipped_unchanged == 0


def test_interval_takes_one_frame_per_period(engine, tmp_path, scenes):
    # A file plays far faster than real time: with a one-hour interval only the first frame is
    # due; the others are grabbed (draining the queue) and dropped.
    a, b = scenes["TOTAL 12.50"], scenes["CHANGE 7.25"]
    video = write_video(tmp_path / "fast.avi", [a, b, a, b])
    stats, records = run_camera(engine, camera_config(video, interval_seconds=3600, min_change=0))
    assert [r["text"] for r in records] == ["TOTAL 12.50"]
    assert stats.frames_read == 4 and stats.processed == 1


def test_frames_are_saved_with_sidecars(engine, tmp_path, scenes):
    video = write_video(tmp_path / "one.avi", [scenes["CHANGE 7.25"]])
    saved = tmp_path / "saved"
    out = tmp_path / "frames.jsonl"
    config = config_from_dict({"sources": {"camera": {"device": str(video), "interval_seconds": 0},
                                           "output": str(out), "save_frames_dir": str(saved)}})
    stats = run_camera_source(engine, config, threading.Event())  # the sink comes from the config
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    path = Path(record["frame_path"])
    assert path.parent == saved and path.suffix == ".jpg"
    image = cv2.imread(str(path))
    assert image.shape == (HEIGHT, WIDTH, 3)
    assert json.loads((saved / (path.name + ".json")).read_text()) == record
    assert record["text"] == "CHANGE 7.25" and stats.processed == 1


def test_missing_device_is_retried_with_backoff_until_it_appears(engine, tmp_path, scenes):
    device = tmp_path / "late.avi"
    out = io.StringIO()
    stop = threading.Event()
    config = camera_config(device, interval_seconds=0, reconnect_seconds=0.2)
    result = {}
    thread = threading.Thread(target=lambda: result.update(
        stats=run_camera_source(engine, config, stop, FrameSink(stream=out))))
    thread.start()
    try:
        time.sleep(1.0)  # several failed opens: 0.25 s, then 0.2 s (the cap) between them
        # The "camera" appears: written elsewhere, then renamed in, so no half file is opened.
        staging = write_video(tmp_path / "staging.avi", [scenes["TOTAL 12.50"]])
        os.replace(staging, device)
        thread.join(timeout=60)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    # One error record for the whole outage, not one per attempt; then the frame.
    assert [r["success"] for r in records] == [False, True]
    assert records[0]["error"]["code"] == "source_unavailable"
    assert str(device) in records[0]["error"]["message"]
    assert records[1]["text"] == "TOTAL 12.50"
    assert result["stats"].outages == 1 and result["stats"].processed == 1


def test_stop_event_ends_the_retry_loop_promptly(engine, tmp_path):
    stop = threading.Event()
    out = io.StringIO()
    config = camera_config(tmp_path / "never.avi", reconnect_seconds=30)
    thread = threading.Thread(target=run_camera_source, args=(engine, config, stop, FrameSink(stream=out)))
    thread.start()
    time.sleep(0.5)  # the source is now waiting between attempts
    started = time.monotonic()
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert time.monotonic() - started < 2
    assert [json.loads(line)["error"]["code"] for line in out.getvalue().splitlines()] == ["source_unavailable"]


class CameraStreamHandler(BaseHTTPRequestHandler):
    """An IP camera's MJPEG stream; ``server.sessions[n]`` is what the n-th connection gets:
    a list of JPEG frames (then the camera drops the connection, or with ``server.stall`` set
    keeps it open and sends nothing more) or None (503, camera busy)."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        sessions = self.server.sessions
        frames = sessions.pop(0) if sessions else None
        if frames is None:
            self.send_error(503)
            return
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace;boundary=frame")
        self.end_headers()
        for frame in frames:
            self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(frame))
            self.wfile.write(frame + b"\r\n")
            self.wfile.flush()
            time.sleep(0.05)
        if getattr(self.server, "stall", None) is not None:
            self.server.stall.wait(30)


def test_stream_url_that_drops_is_reopened(engine):
    server = ThreadingHTTPServer(("127.0.0.1", 0), CameraStreamHandler)
    server.sessions = [[jpeg("TOTAL 12.50"), jpeg("TOTAL 12.50"), jpeg("CHANGE 7.25")], None, None,
                       [jpeg("INVOICE 9981")]]
    serving = threading.Thread(target=server.serve_forever)
    serving.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"
    out = io.StringIO()
    stop = threading.Event()
    config = camera_config(url, interval_seconds=0, reconnect_seconds=0.2)
    source = threading.Thread(target=run_camera_source, args=(engine, config, stop, FrameSink(stream=out)))
    source.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "INVOICE 9981" not in out.getvalue():
            time.sleep(0.1)
    finally:
        stop.set()
        source.join(timeout=30)
        server.shutdown()
        serving.join(timeout=10)
        server.server_close()
    assert not source.is_alive()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    seen = [r["text"] if r["success"] else r["error"]["code"] for r in records]
    # The repeated frame is skipped; the dropped connection is one outage however many 503s
    # follow; the camera's next session is read.
    assert seen[:4] == ["TOTAL 12.50", "CHANGE 7.25", "source_unavailable", "INVOICE 9981"], seen
    assert "stopped delivering frames" in records[2]["error"]["message"]
    assert all(r["source"] == f"camera:{url}" for r in records)


def test_stalled_stream_times_out_and_is_reopened(engine, monkeypatch):
    # The camera keeps the connection open but sends nothing: after the read timeout (shortened
    # here from 10 s) the source gives up on it and opens a new connection.
    monkeypatch.setattr(camera_module, "STREAM_READ_TIMEOUT_MS", 1000)
    server = ThreadingHTTPServer(("127.0.0.1", 0), CameraStreamHandler)
    server.daemon_threads = True
    server.stall = threading.Event()
    server.sessions = [[jpeg("TOTAL 12.50")], [jpeg("CHANGE 7.25")]]
    serving = threading.Thread(target=server.serve_forever)
    serving.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"
    out = io.StringIO()
    stop = threading.Event()
    source = threading.Thread(target=run_camera_source, args=(engine, camera_config(url, interval_seconds=0,
                              reconnect_seconds=0.2), stop, FrameSink(stream=out)))
    started = time.monotonic()
    source.start()
    try:
        deadline = started + 30
        while time.monotonic() < deadline and "CHANGE 7.25" not in out.getvalue():
            time.sleep(0.1)
        took = time.monotonic() - started
    finally:
        stop.set()
        server.stall.set()
        source.join(timeout=30)
        server.shutdown()
        serving.join(timeout=10)
        server.server_close()
    assert not source.is_alive()
    seen = [r["text"] if r["success"] else r["error"]["code"] for r in map(json.loads, out.getvalue().splitlines())]
    assert seen[:3] == ["TOTAL 12.50", "source_unavailable", "CHANGE 7.25"], seen
    assert 1.0 <= took < 15


class BusyCamera:
    """Stands in for a camera held by another program, which cannot be had here: V4L2 opens it,
    then streaming fails with EBUSY, so every grab fails."""

    opened = 0

    def __init__(self, *args) -> None:
        BusyCamera.opened += 1

    def isOpened(self) -> bool:
        return True

    def grab(self) -> bool:
        return False

    def release(self) -> None:
        pass


def test_a_camera_that_opens_but_never_streams_is_one_outage_with_growing_waits(engine, monkeypatch):
    monkeypatch.setattr(camera_module, "open_capture", BusyCamera)
    BusyCamera.opened = 0
    out = io.StringIO()
    stop = threading.Event()
    config = camera_config("0", reconnect_seconds=1.0)
    source = threading.Thread(target=run_camera_source, args=(engine, config, stop, FrameSink(stream=out)))
    source.start()
    time.sleep(2.0)
    stop.set()
    source.join(timeout=10)
    assert not source.is_alive()
    # Waits of 0.25, 0.5, 1, 1 s: about 4 attempts in 2 s, not 8 or more at a fixed 0.25 s.
    assert 2 <= BusyCamera.opened <= 5
    assert [json.loads(line)["error"]["code"] for line in out.getvalue().splitlines()] == ["source_unavailable"]
