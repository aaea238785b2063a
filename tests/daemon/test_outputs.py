"""Atomic writes and moves on real files; failures leave no partial output behind."""
from __future__ import annotations

import errno
import os

import pytest

from edgeocr.daemon import outputs
from edgeocr.daemon.outputs import Outputs, atomic_write, move_file


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

    # Injected: a real full disk is tested in test_service.py where a tmpfs can be mounted.
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outputs.os, "fsync", full)
    with pytest.raises(OSError) as info:
        atomic_write(target, b"new")
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.json"]


def test_move_keeps_a_symlink_a_symlink(tmp_path):
    (tmp_path / "target.png").write_bytes(b"data")
    (tmp_path / "link.png").symlink_to(tmp_path / "target.png")
    move_file(tmp_path / "link.png", tmp_path / "out" / "link.png")
    assert (tmp_path / "out" / "link.png").is_symlink()
    assert (tmp_path / "target.png").read_bytes() == b"data"


def test_destinations_do_not_overwrite_earlier_files(tmp_path):
    folders = Outputs(tmp_path / "in", tmp_path / "processed", tmp_path / "failed", "move", False)
    assert folders.choose_dest(folders.processed, "a/b.jpg") == "a/b.jpg"
    (tmp_path / "processed" / "a").mkdir(parents=True)
    (tmp_path / "processed" / "a" / "b.jpg.json").write_text("{}")
    assert folders.choose_dest(folders.processed, "a/b.jpg") == "a/b.1.jpg"
    (tmp_path / "processed" / "a" / "b.1.jpg").write_text("x")
    assert folders.choose_dest(folders.processed, "a/b.jpg") == "a/b.2.jpg"


def test_success_writes_sidecar_text_then_moves(tmp_path):
    inbox = tmp_path / "in"
    (inbox / "s").mkdir(parents=True)
    (inbox / "s" / "a.png").write_bytes(b"img")
    folders = Outputs(inbox, tmp_path / "processed", tmp_path / "failed", "move", write_text=True)
    sidecar = folders.write_success("s/a.png", "s/a.png", {"success": True, "text": "HELLO"})
    assert sidecar == tmp_path / "processed" / "s" / "a.png.json"
    assert (tmp_path / "processed" / "s" / "a.png").read_bytes() == b"img"
    assert (tmp_path / "processed" / "s" / "a.png.txt").read_text() == "HELLO\n"
    assert not (inbox / "s" / "a.png").exists()
