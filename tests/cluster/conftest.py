"""Fixtures for the cluster tests: a real redis-server on a free loopback port, real worker and
dispatcher processes (``python -m edgeocr worker`` / ``watch``), the small fast ``en-latin-v1`` pack."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from edgeocr.config import config_from_dict
from tests.daemon.conftest import REPO, daemon_settings, wait_for

PACK = "en-latin-v1"  # the small Latin pack: a job takes ~30 ms, so 300 files fit in seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server process; no persistence, so a restart is the hard case: the broker forgets.
    ``tls=(cert, key)``: TLS only (the plain port off); ``password``: ``requirepass``."""

    def __init__(self, folder: Path, tls: tuple[Path, Path] | None = None, password: str | None = None) -> None:
        self.folder, self.tls, self.password = folder, tls, password
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        args = ["--port", str(self.port)]
        if self.tls:
            cert, key = self.tls
            args = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(cert), "--tls-key-file",
                    str(key), "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        log = open(self.folder / "redis.log", "ab")
        self.process = subprocess.Popen(["redis-server", *args, "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                         "no", "--dir", str(self.folder)], stdout=log, stderr=log)
        assert wait_for(self._answers, timeout=10), (self.folder / "redis.log").read_text()
        return self

    def _answers(self) -> bool:
        import ssl

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw:
                sock = raw
                if self.tls:
                    context = ssl.create_default_context(cafile=str(self.tls[0]))
                    sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def client(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port)


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: run tests/install-system-packages.sh (.ci/run does)")
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def latin_engine():
    from edgeocr.engine import Engine

    return Engine(config_from_dict({"engine": {"pack": PACK, "threads": 1}}))


def cluster_settings(root: Path, broker: str, **cluster: Any) -> dict:
    settings = {"engine": {"pack": PACK, "threads": 1},
                "daemon": daemon_settings(root, broker=broker, settle_seconds=0.1, workers=4),
                "cluster": {"visibility_timeout_seconds": 2.0, "heartbeat_seconds": 0.5, "job_timeout_seconds": 60.0}}
    settings["cluster"].update(cluster)
    return settings


def write_cluster_config(path: Path, root: Path, broker: str, **cluster: Any) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(cluster_settings(root, broker, **cluster)), encoding="utf-8")
    return path


def start_process(log_path: Path, *args: str) -> subprocess.Popen:
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "edgeocr", *args], cwd=REPO, stdout=log, stderr=log,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def start_worker(config: Path, broker: str, name: str, *extra: str) -> subprocess.Popen:
    return start_process(config.parent / f"{name}.log", "worker", "--broker", broker, "--config", str(config), *extra)


def stop_process(process: subprocess.Popen, timeout: float = 30.0) -> int | None:
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
            return None
    return process.returncode


def wait_until_quiet(server: RedisServer, timeout: float = 30.0) -> bool:
    """No job left in the broker: the stream empty, nothing pending."""
    client = server.client()

    def quiet() -> bool:
        try:
            return client.xlen("edgeocr:jobs") == 0
        except Exception:
            return False
    return wait_for(quiet, timeout=timeout)


def now() -> float:
    return time.monotonic()
