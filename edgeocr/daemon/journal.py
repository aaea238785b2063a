"""The journal: one SQLite row per input file, so that a restart after ``kill -9`` finishes each
file exactly once.

States: ``processing`` (claimed; outputs may be partly written), ``retry`` (a transient error;
``next_attempt`` says when), ``done`` and ``failed`` (terminal). The destination is chosen and
recorded at claim time, so a job resumed after a crash writes to the same place instead of a
second, "unique" name. WAL mode with ``synchronous=FULL``: a committed state survives power loss.

Names (``rel``, ``dest``) are stored as BLOBs of their bytes (``os.fsencode``): a file name need not
be valid UTF-8 (a camera's Latin-1 name, a broken archive), and a TEXT column cannot hold it.
Every SQLite error is raised as ``JournalError`` (a full disk, a broken file): the callers back off
as a whole instead of failing file by file.
"""
from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    rel BLOB PRIMARY KEY,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    size INTEGER,
    mtime_ns INTEGER,
    sha256 TEXT,
    dest BLOB,
    received_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    next_attempt REAL NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS files_state ON files(state);
"""

ACTIVE = ("processing", "retry")

_T = TypeVar("_T")


class JournalError(Exception):
    """The journal cannot be read or written (disk full, I/O error, a damaged file)."""


def _guarded(method: Callable[..., _T]) -> Callable[..., _T]:
    @functools.wraps(method)
    def call(self: "Journal", *args: Any, **kwargs: Any) -> _T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: {exc}") from exc
    return call


def _key(name: str) -> bytes:
    """The stored form of a name: its bytes on disk (surrogate escapes turned back into bytes)."""
    return os.fsencode(name)


def _name(stored: bytes | str | None) -> str | None:
    if stored is None or isinstance(stored, str):
        return stored
    return os.fsdecode(stored)


@dataclass(frozen=True)
class Entry:
    rel: str
    state: str
    attempts: int
    size: int | None
    mtime_ns: int | None
    sha256: str | None
    dest: str | None
    received_at: float
    next_attempt: float
    errors: list[dict[str, Any]]


class Journal:
    """Thread-safe: one connection guarded by a lock (writes are tiny next to an OCR run)."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / "journal.sqlite3"
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            # Journals written before names were BLOBs hold TEXT keys, which never equal a BLOB:
            # convert them once (CAST gives the UTF-8 bytes, what os.fsencode gives for such names).
            if self._db.execute("SELECT 1 FROM files WHERE typeof(rel) = 'text' OR typeof(dest) = 'text' "
                                "LIMIT 1").fetchone():
                self._db.execute("UPDATE files SET rel = CAST(rel AS BLOB), dest = CAST(dest AS BLOB)")
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @_guarded
    def get(self, rel: str) -> Entry | None:
        with self._lock:
            row = self._db.execute("SELECT rel, state, attempts, size, mtime_ns, sha256, dest, received_at, "
                                   "next_attempt, errors FROM files WHERE rel = ?", (_key(rel),)).fetchone()
        if row is None:
            return None
        return Entry(_name(row[0]), row[1], row[2], row[3], row[4], row[5], _name(row[6]), row[7], row[8],
                     json.loads(row[9]))

    @_guarded
    def claim(self, rel: str, size: int, mtime_ns: int) -> Entry:
        """Start an attempt. A terminal row means a new file under an old name: it starts afresh."""
        now = time.time()
        key = _key(rel)
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT state FROM files WHERE rel = ?", (key,)).fetchone()
            if row is None or row[0] not in ACTIVE:
                self._db.execute("INSERT OR REPLACE INTO files (rel, state, attempts, size, mtime_ns, received_at, "
                                 "updated_at) VALUES (?, 'processing', 1, ?, ?, ?, ?)", (key, size, mtime_ns, now, now))
            else:
                self._db.execute("UPDATE files SET state = 'processing', attempts = attempts + 1, size = ?, "
                                 "mtime_ns = ?, updated_at = ? WHERE rel = ?", (size, mtime_ns, now, key))
        entry = self.get(rel)
        assert entry is not None
        return entry

    @_guarded
    def set_dest(self, rel: str, dest: str, sha256: str | None = None) -> None:
        with self._lock:
            self._db.execute("UPDATE files SET dest = ?, sha256 = COALESCE(?, sha256), updated_at = ? WHERE rel = ?",
                             (_key(dest), sha256, time.time(), _key(rel)))

    @_guarded
    def finish(self, rel: str, state: str, sha256: str | None = None) -> None:
        """Mark terminal (``done`` or ``failed``); the row stays as the file's record."""
        with self._lock:
            self._db.execute("UPDATE files SET state = ?, sha256 = COALESCE(?, sha256), updated_at = ? WHERE rel = ?",
                             (state, sha256, time.time(), _key(rel)))

    @_guarded
    def retry(self, rel: str, error: dict[str, Any], next_attempt: float) -> None:
        """Record a transient error and when to try again."""
        key = _key(rel)
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT errors FROM files WHERE rel = ?", (key,)).fetchone()
            errors = json.loads(row[0]) if row else []
            errors.append(error)
            # ensure_ascii (the default) writes a surrogate-escaped name as \udcXX: valid JSON.
            self._db.execute("UPDATE files SET state = 'retry', errors = ?, next_attempt = ?, updated_at = ? "
                             "WHERE rel = ?", (json.dumps(errors[-20:]), next_attempt, time.time(), key))

    @_guarded
    def forget(self, rel: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM files WHERE rel = ?", (_key(rel),))

    @_guarded
    def prune(self, older_than: float) -> int:
        """Drop finished rows last touched before ``older_than`` (move mode: the file has left the
        inbox, so the row guards nothing and would only grow the file for months)."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM files WHERE state IN ('done', 'failed') AND updated_at < ?",
                                      (older_than,))
        return cursor.rowcount

    @_guarded
    def active(self) -> list[Entry]:
        """Rows a crash or a transient error left unfinished."""
        with self._lock:
            rels = [_name(r[0]) for r in self._db.execute("SELECT rel FROM files WHERE state IN ('processing', 'retry')")]
        return [entry for entry in (self.get(rel) for rel in rels if rel is not None) if entry is not None]

    @_guarded
    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM files GROUP BY state").fetchall()
        return {state: count for state, count in rows}
