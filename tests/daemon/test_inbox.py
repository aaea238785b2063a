"""Inbox rules: junk names, scanning, containment, and the settle tracker on real files."""
from __future__ import annotations

import os
import threading
import time

from edgeocr.config import DEFAULT_IGNORE
from edgeocr.daemon.inbox import SettleTracker, contained, is_junk, is_own_output, scan, wanted


def test_junk_names_are_ignored():
    for name in ("a.jpg.part", "a.tmp", "a.jpg~", "~$report.jpg", ".hidden.jpg", ".a.jpg.x1.tmp", "Thumbs.db",
                 "desktop.ini", "@eaDir", "x.crdownload", "__MACOSX"):
        assert is_junk(name, DEFAULT_IGNORE), name
    for name in ("a.jpg", "scan 0001.tiff", "part.png", "tmp.png", "a~b.png"):
        assert not is_junk(name, DEFAULT_IGNORE), name
    assert is_junk("draft.png", ("draft*",))  # configured patterns add to the defaults


def test_scan_skips_junk_files_and_folders(tmp_path):
    for rel in ("a.jpg", "sub/b.png", "sub/deeper/c.tif", ".hidden/d.png", "@eaDir/e.png", "f.part", "sub/.g.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    assert sorted(scan(tmp_path, DEFAULT_IGNORE)) == ["a.jpg", "sub/b.png", "sub/deeper/c.tif"]
    assert not wanted(tmp_path, "@eaDir/e.png", DEFAULT_IGNORE)
    assert wanted(tmp_path, "sub/b.png", DEFAULT_IGNORE)


def test_scan_does_not_follow_symlinked_folders(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"x")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "link").symlink_to(outside)
    # The link itself is reported (and refused by the worker); nothing behind it is listed.
    assert list(scan(inbox, DEFAULT_IGNORE)) == ["link"]


def test_own_outputs_are_recognised_only_beside_their_image(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    for name in ("a.jpg.json", "a.jpg.error.json", "a.jpg.txt"):
        (tmp_path / name).write_bytes(b"{}")
        assert is_own_output(tmp_path / name)
    (tmp_path / "notes.txt").write_bytes(b"x")
    assert not is_own_output(tmp_path / "notes.txt")
    assert sorted(scan(tmp_path, DEFAULT_IGNORE, skip_outputs=True)) == ["a.jpg", "notes.txt"]


def test_containment_resolves_symlinks(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / "sub" / "real.png").write_bytes(b"x")
    (tmp_path / "outside.png").write_bytes(b"x")
    (inbox / "inside-link").symlink_to(inbox / "sub" / "real.png")
    (inbox / "outside-link").symlink_to(tmp_path / "outside.png")
    (inbox / "dotdot-link").symlink_to("../outside.png")
    assert contained(inbox, inbox / "inside-link")
    assert not contained(inbox, inbox / "outside-link")
    assert not contained(inbox, inbox / "dotdot-link")


def test_tracker_waits_for_a_file_written_in_chunks(tmp_path):
    path = tmp_path / "slow.png"
    tracker = SettleTracker(tmp_path, settle_seconds=0.6)
    stop = threading.Event()

    def writer() -> None:
        with open(path, "wb") as handle:
            for _ in range(6):  # 6 chunks over ~1.2 s; the gaps (0.2 s) are shorter than the settle time
                handle.write(b"x" * 1000)
                handle.flush()
                time.sleep(0.2)
        stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    ready_at_size = None
    deadline = time.monotonic() + 10
    while ready_at_size is None and time.monotonic() < deadline:
        tracker.touch("slow.png")
        if "slow.png" in tracker.poll():
            ready_at_size = os.path.getsize(path)
        time.sleep(0.05)
    thread.join()
    assert stop.is_set()
    assert ready_at_size == 6000  # taken only once whole


def test_tracker_forgets_files_that_vanish(tmp_path):
    tracker = SettleTracker(tmp_path, settle_seconds=0.0)
    (tmp_path / "a.png").write_bytes(b"x")
    tracker.touch("a.png")
    tracker.touch("gone.png")
    assert tracker.poll() == ["a.png"]
    assert len(tracker) == 0
