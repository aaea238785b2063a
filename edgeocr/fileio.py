"""Durable file writes and timestamps shared by the daemon's sidecars and the frame sources.

Whatever watches our output folders (a sync client, another script, our own inbox watcher) must
see either the old file or the whole new one, and a power cut must not leave a rename undone.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Make renames and new names in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_prefix(name: str) -> str:
    """The start of every temporary name we use for the final name ``name``.

    Bounded (26 bytes) whatever ``name`` is: a temporary named after a 240-byte input would pass
    NAME_MAX (255 bytes) and no write could ever succeed. The hash of the name lets a restart
    find exactly the temporaries of one destination; the dot hides them from watchers.
    """
    return f".edgeocr-{hashlib.sha256(os.fsencode(name)).hexdigest()[:16]}."


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` all at once: temp file, fsync, rename, fsync the folder.

    The temporary file is dot-named in the target's own folder, so the rename never crosses a
    filesystem and watchers that skip dot-files never pick it up half-written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path.name), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)  # mkstemp's 0600 would survive the rename
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def utc_iso(timestamp: float | None = None) -> str:
    """ISO-8601 UTC with milliseconds, e.g. ``2026-11-25T10:01:03.123Z`` (now by default)."""
    moment = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
