"""``edgeocr serve`` as a real subprocess: it answers on the port given, and SIGTERM stops it cleanly."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_and_stops_on_sigterm(tmp_path):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "edgeocr", "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--set", "web.cache_entries=0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            try:
                health = requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "edgeocr serve did not start listening"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["model_loaded"] is True
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "listening on http://127.0.0.1:%d/" % port in process.stdout.read().decode()


def test_serve_on_a_taken_port_is_a_config_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "edgeocr", "serve", "--port", str(port)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
