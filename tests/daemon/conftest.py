"""Fixtures for the daemon tests: real folders, real rendered images, the real engine."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from edgeocr.config import Config, config_from_dict
from tests.rendering import encode, render_lines

# A few receipts-like lines the shipped pack reads reliably; files in bursts are copies of these.
SAMPLES = {
    "total": ["TOTAL 12.20"],
    "cash": ["CASH 3.50"],
    "milk": ["MILK 1.99"],
    "bread": ["BREAD 2.49"],
}

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def images() -> dict[str, bytes]:
    """PNG bytes per sample name, rendered once per session."""
    return {name: encode(render_lines(lines, font_size=28)) for name, lines in SAMPLES.items()}


def wait_for(condition: Callable[[], bool], timeout: float = 15.0, interval: float = 0.05) -> bool:
    """Poll ``condition`` until true or ``timeout``; tests assert the result (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def daemon_settings(root: Path, **overrides) -> dict:
    """Short settle/retry times so that the tests run in seconds."""
    settings = {"inbox": str(root / "inbox"), "processed": str(root / "processed"), "failed": str(root / "failed"),
                "state_dir": str(root / "state"), "settle_seconds": 0.3, "rescan_seconds": 5.0,
                "retry_base_seconds": 0.2, "retry_max_seconds": 1.0, "max_attempts": 4}
    settings.update(overrides)
    return settings


def make_config(root: Path, **overrides) -> Config:
    return config_from_dict({"daemon": daemon_settings(root, **overrides)}, "test-config")


def files_under(folder: Path) -> list[str]:
    """Relative names of every file below ``folder`` (sorted), dot-files included."""
    if not folder.exists():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def tmpfs():
    """Mount a real tmpfs (tests run as root here and in CI); unmounted at teardown."""
    mounted: list[Path] = []

    def mount(path: Path, size: str = "1m") -> Path:
        path.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def daemon(tmp_path, engine):
    """Start an in-process ``Service`` on the shared engine; stopped (threads joined) at teardown."""
    from edgeocr.daemon.service import Service

    started = []

    def start(**overrides) -> Service:
        config = make_config(tmp_path, **overrides)
        for key in ("inbox",):
            Path(getattr(config.daemon, key)).mkdir(parents=True, exist_ok=True)
        service = Service(config, engine=engine, config_loader=lambda: config)
        service.start()
        assert service.ready.wait(10)
        started.append(service)
        return service

    yield start
    for service in started:
        if not service._stop.is_set():
            assert service.stop(timeout=10)


def write_config_file(path: Path, root: Path, **overrides) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({"daemon": daemon_settings(root, **overrides)}), encoding="utf-8")
    return path


def start_daemon(config_path: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    """``python -m edgeocr watch`` as a real subprocess, its log captured to a file beside the config."""
    log = open(config_path.with_suffix(".log"), "ab")
    return subprocess.Popen([sys.executable, "-m", "edgeocr", "watch", "--config", str(config_path), *extra],
                            cwd=REPO, stdout=log, stderr=log, env={**os.environ, **(env or {})})


def log_text(config_path: Path) -> str:
    path = config_path.with_suffix(".log")
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
