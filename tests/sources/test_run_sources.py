"""Both sources inside the real daemon: ``python -m edgeocr run`` with the camera source on a video
file (no camera here; OpenCV opens files like devices) and MJPEG frames piped into its stdin,
both writing to one JSON-lines file; SIGTERM then stops it cleanly."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.sources.frames import jpeg, page, write_video

REPO = Path(__file__).resolve().parents[2]


def read_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    # Only whole lines: the daemon may be writing the next one right now.
    return [json.loads(line) for line in path.read_text().splitlines(keepends=True) if line.endswith("\n")]


def test_edgeocr_run_with_camera_and_stdin_sources(tmp_path):
    video = write_video(tmp_path / "desk.avi", [page("TOTAL 12.50"), page("TOTAL 12.50"), page("CHANGE 7.25")])
    out = tmp_path / "frames.jsonl"
    command = [sys.executable, "-m", "edgeocr", "run",
               "--inbox", str(tmp_path / "inbox"), "--processed", str(tmp_path / "processed"),
               "--failed", str(tmp_path / "failed"), "--state-dir", str(tmp_path / "state"),
               "--set", "web.enabled=false", "--set", f"sources.output={out}",
               "--set", "sources.stdin.enabled=true",
               "--set", "sources.camera.enabled=true", "--set", f"sources.camera.device={video}",
               "--set", "sources.camera.interval_seconds=0"]
    process = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        process.stdin.write(jpeg("HELLO WORLD 1") + jpeg("RECEIPT 2.50"))
        process.stdin.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(read_records(out)) < 4 and process.poll() is None:
            time.sleep(0.2)
        records = read_records(out)
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=20)
    finally:
        process.kill()
        process.wait()
        stderr = process.stderr.read().decode(errors="replace")
        process.stdout.close()
        process.stderr.close()
    by_source: dict[str, list[str]] = {}
    for record in records:
        assert record["success"], record
        by_source.setdefault(record["source"], []).append(record["text"])
    assert by_source == {"stdin": ["HELLO WORLD 1", "RECEIPT 2.50"],
                         f"camera:{video}": ["TOTAL 12.50", "CHANGE 7.25"]}, stderr[-2000:]
    assert status == 0, stderr[-2000:]
