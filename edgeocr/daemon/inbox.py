"""What in the inbox is an input, whether it is completely written, and where it really lives.

Events from the observer are only hints: a file is taken when its size and mtime have not changed
for ``settle_seconds`` (scanners and network copies write in chunks and close the file several
times; polling mounts give no close event at all). A full scan at start-up and a periodic rescan
catch what the observer never reported (inotify drops events when its queue overflows).
"""
from __future__ import annotations

import fnmatch
import os
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

# Suffixes of what the daemon writes itself; in-place mode writes them inside the inbox.
OUTPUT_SUFFIXES = (".error.json", ".json", ".txt", ".ocr.pdf")


def is_junk(name: str, patterns: Iterable[str]) -> bool:
    """Dot-files (our own temporaries, AppleDouble, sync tools) and names matching ``patterns``."""
    if name.startswith("."):
        return True
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def is_own_output(path: Path) -> bool:
    """``x.jpg.json``, ``x.jpg.error.json`` or ``x.jpg.txt`` next to an existing ``x.jpg``."""
    name = path.name
    for suffix in OUTPUT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            if (path.parent / name[: -len(suffix)]).exists():
                return True
    return False


def relative_name(inbox: Path, path: Path) -> str | None:
    """``path`` relative to the inbox (posix separators), or ``None`` if it is not below it."""
    try:
        rel = path.relative_to(inbox)
    except ValueError:
        return None
    return rel.as_posix() if rel.parts else None


def scan(inbox: Path, patterns: Iterable[str], skip_outputs: bool = False) -> Iterator[str]:
    """Relative names of every candidate input below ``inbox`` (files and symlinks; never followed
    into directories, so a symlinked folder cannot lead the scan outside)."""
    patterns = tuple(patterns)
    stack = [inbox]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # vanished or unreadable subfolder: the next rescan tries again
        for entry in entries:
            if is_junk(entry.name, patterns):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                    continue
            except OSError:
                continue
            path = Path(entry.path)
            if skip_outputs and is_own_output(path):
                continue
            rel = relative_name(inbox, path)
            if rel is not None:
                yield rel


def wanted(inbox: Path, rel: str, patterns: Iterable[str], skip_outputs: bool = False) -> bool:
    """The filter ``scan`` applies, for a single path an event reported."""
    patterns = tuple(patterns)
    if any(is_junk(part, patterns) for part in Path(rel).parts):
        return False
    return not (skip_outputs and is_own_output(inbox / rel))


def contained(inbox: Path, path: Path) -> bool:
    """Whether ``path``, with every symlink resolved, still lies inside the inbox."""
    try:
        real = Path(os.path.realpath(path))
    except OSError:
        return False
    root = Path(os.path.realpath(inbox))
    return real == root or root in real.parents


@dataclass
class _Tracked:
    size: int
    mtime_ns: int
    since: float


class SettleTracker:
    """Files seen but not yet taken: each becomes ready once unchanged for ``settle_seconds``."""

    def __init__(self, inbox: Path, settle_seconds: float, clock=time.monotonic) -> None:
        self.inbox = inbox
        self.settle_seconds = settle_seconds
        self._clock = clock
        self._files: dict[str, _Tracked] = {}
        self._lock = threading.Lock()

    def touch(self, rel: str) -> None:
        """A hint that ``rel`` appeared or changed; the stat in ``poll`` decides."""
        with self._lock:
            self._files.setdefault(rel, _Tracked(-1, -1, self._clock()))

    def __contains__(self, rel: str) -> bool:
        with self._lock:
            return rel in self._files

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)

    def forget(self, rel: str) -> None:
        with self._lock:
            self._files.pop(rel, None)

    def poll(self) -> list[str]:
        """Stat every tracked file; return (and stop tracking) those that have settled."""
        with self._lock:
            names = list(self._files)
        ready = []
        now = self._clock()
        for rel in names:
            try:
                info = os.lstat(self.inbox / rel)
            except OSError:
                self.forget(rel)  # gone (moved away, deleted) before it settled
                continue
            if stat.S_ISDIR(info.st_mode):
                self.forget(rel)
                continue
            with self._lock:
                tracked = self._files.get(rel)
                if tracked is None:
                    continue
                if (tracked.size, tracked.mtime_ns) != (info.st_size, info.st_mtime_ns):
                    tracked.size, tracked.mtime_ns, tracked.since = info.st_size, info.st_mtime_ns, now
                    # settle 0 still needs one stat to learn the size: ready on this same poll
                    if self.settle_seconds > 0:
                        continue
                if now - tracked.since >= self.settle_seconds:
                    del self._files[rel]
                    ready.append(rel)
        return ready
