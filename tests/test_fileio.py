"""Durable writes on real files: whole or not at all, no temporary left behind."""
from __future__ import annotations

import errno
import os
import re

import pytest

from edgeocr import fileio
from edgeocr.fileio import atomic_write, utc_iso


def test_atomic_write_replaces_whole_and_sets_mode(tmp_path):
    target = tmp_path / "deep" / "a.json"
    atomic_write(target, b"first")
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    assert os.listdir(target.parent) == ["a.json"]  # no temporary left


def test_atomic_write_failure_leaves_old_content_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "a.json"
    atomic_write(target, b"old")

    # Injected: a real full disk is tested in tests/daemon/test_service.py where a tmpfs can be mounted.
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    with pytest.raises(OSError) as info:
        atomic_write(target, b"new")
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.json"]


def test_utc_iso_is_utc_with_milliseconds():
    assert utc_iso(0) == "1970-01-01T00:00:00.000Z"
    assert utc_iso(1.2345) == "1970-01-01T00:00:01.234Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", utc_iso())
