"""sd_notify over real AF_UNIX datagram sockets that the tests bind (path and abstract)."""
from __future__ import annotations

import os
import socket
import uuid

import pytest

from edgeocr.sdnotify import notify, watchdog_interval


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def receiver(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


def test_without_notify_socket_it_is_a_no_op(clean_env):
    assert notify("READY=1") is False


def test_sends_one_datagram_to_a_path_socket(clean_env, tmp_path):
    path = tmp_path / "notify.sock"
    assert len(str(path)) < 100, "unix socket paths are limited to 108 bytes"
    with receiver(str(path)) as sock:
        clean_env.setenv("NOTIFY_SOCKET", str(path))
        assert notify("READY=1\nSTATUS=3 files queued") is True
        assert notify("WATCHDOG=1") is True
        assert sock.recv(4096) == b"READY=1\nSTATUS=3 files queued"
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_abstract_socket_with_at_sign(clean_env):
    name = f"edgeocr-test-{os.getpid()}-{uuid.uuid4().hex}"
    with receiver("\0" + name) as sock:
        clean_env.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify("STOPPING=1") is True
        assert sock.recv(4096) == b"STOPPING=1"


def test_unreachable_or_unsupported_socket_returns_false_without_raising(clean_env, tmp_path):
    clean_env.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens.sock"))
    assert notify("READY=1") is False
    clean_env.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    assert notify("READY=1") is False
    clean_env.setenv("NOTIFY_SOCKET", "@" + uuid.uuid4().hex)  # abstract name nobody bound
    assert notify("READY=1") is False


def test_watchdog_interval_is_half_of_watchdog_usec(clean_env):
    assert watchdog_interval() is None
    clean_env.setenv("WATCHDOG_USEC", "60000000")
    assert watchdog_interval() == 30.0
    clean_env.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == 30.0


def test_watchdog_for_another_process_or_nonsense_is_off(clean_env):
    clean_env.setenv("WATCHDOG_USEC", "60000000")
    clean_env.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert watchdog_interval() is None
    clean_env.setenv("WATCHDOG_PID", "not-a-pid")
    assert watchdog_interval() is None
    clean_env.delenv("WATCHDOG_PID")
    for value in ("0", "-5", "soon", ""):
        clean_env.setenv("WATCHDOG_USEC", value)
        assert watchdog_interval() is None
