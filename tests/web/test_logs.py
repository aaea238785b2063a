"""The log of ``serve`` and ``run`` as real subprocesses: one format, an access line per request,
a line at shutdown."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
# time with milliseconds, level, component, message: the one format (edgeocr/logs.py)
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
                  r"(edgeocr|waitress)[\w.]*: \S")


def _start(args: list[str], log: Path) -> tuple[subprocess.Popen, int]:
    handle = open(log, "ab")
    process = subprocess.Popen([sys.executable, "-m", "edgeocr", *args], cwd=REPO, stdout=handle, stderr=handle)
    deadline = time.monotonic() + 90
    while True:
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", log.read_text())
        if found:
            return process, int(found.group(1))
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


def _check_log(text: str, port: int) -> None:
    lines = text.splitlines()
    assert lines and all(LINE.match(line) for line in lines), [line for line in lines if not LINE.match(line)]
    access = [line for line in lines if " edgeocr.web.access: " in line]
    assert any('"GET /health" 200 ' in line for line in access), access
    assert any('"POST /ocr?text=1" 415 ' in line for line in access), access
    assert any('"GET /nope" 404 ' in line for line in access), access
    assert "web: stopped" in lines[-1] or any("web: stopped" in line for line in lines[-5:]), lines[-5:]


def _requests(port: int) -> None:
    assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
    assert requests.post(f"http://127.0.0.1:{port}/ocr?text=1", data=b"x", headers={"Content-Type": "text/plain"},
                         timeout=10).status_code == 415
    assert requests.get(f"http://127.0.0.1:{port}/nope", timeout=10).status_code == 404


def test_serve_logs_in_one_format_with_access_lines_and_a_shutdown_line(tmp_path):
    process, port = _start(["serve", "--port", "0"], tmp_path / "serve.log")
    try:
        _requests(port)
    finally:
        assert _stop(process) == 0
    _check_log((tmp_path / "serve.log").read_text(), port)


def test_run_logs_in_the_same_format(tmp_path):
    folders = {name: str(tmp_path / name) for name in ("inbox", "processed", "failed", "state")}
    config = tmp_path / "edgeocr.yaml"
    config.write_text(yaml.safe_dump({"daemon": {"inbox": folders["inbox"], "processed": folders["processed"],
                                                 "failed": folders["failed"], "state_dir": folders["state"]},
                                      "web": {"port": 0}}))
    process, port = _start(["run", "--config", str(config)], tmp_path / "run.log")
    try:
        _requests(port)
    finally:
        assert _stop(process) == 0
    text = (tmp_path / "run.log").read_text()
    _check_log(text, port)
    assert " edgeocr.daemon: " in text and "stopped" in text.splitlines()[-1]
