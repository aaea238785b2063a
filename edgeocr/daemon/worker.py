"""One input, start to finish, and the pool of threads that run them.

Every outcome is one of: done (sidecar written, image moved), failed (permanent: the error report
written, the file moved to failed/), retry (transient: the file stays where it is, the journal
says when to try again), or gone (the file vanished before it was read). No exception from one
file may stop a worker: the daemon runs unattended for months.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import queue
import random
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from ..cache import ResultCache, content_key
from ..config import DaemonConfig
from . import inbox as inbox_rules
from .journal import Entry, Journal, JournalError
from ..fileio import utc_iso
from .outputs import Outputs, read_json

log = logging.getLogger("edgeocr.daemon")

DONE, FAILED, RETRY, GONE = "done", "failed", "retry", "gone"


class PermanentError(Exception):
    """An input that will never succeed (not an image, a symlink out of the inbox...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message




def describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{name}: {exc.strerror}{where}"
    return f"{type(exc).__name__}: {exc}"


def backoff(config: DaemonConfig, attempts: int) -> float:
    """Exponential with a little jitter (so many files failing together do not retry in step)."""
    delay = min(config.retry_max_seconds, config.retry_base_seconds * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.9, 1.1)


class JournalOutage:
    """The journal as one thing that is up or down (a full disk under the state folder).

    While it is down no file can be claimed, so the dispatcher holds every file back, and one probe
    at a time tries again after an exponential backoff (``retry_base_seconds`` doubling up to
    ``retry_max_seconds``). One log line when the outage starts, one when it ends: not a traceback
    per file per attempt.
    """

    def __init__(self, config_of: Callable[[], DaemonConfig]) -> None:
        self.config_of = config_of
        self._lock = threading.Lock()
        self.failures = 0
        self.until = 0.0

    def blocked(self) -> bool:
        return time.time() < self.until

    def failed(self, exc: Exception) -> float:
        """Record a failed journal access; returns when to try again."""
        with self._lock:
            now = time.time()
            if self.failures and now < self.until:
                return self.until  # a file that was already in flight: the same outage
            self.failures += 1
            config = self.config_of()
            delay = min(config.retry_max_seconds, config.retry_base_seconds * 2 ** min(self.failures - 1, 32))
            self.until = now + delay
            first = self.failures == 1
        if first:
            log.error("journal unavailable (%s); no file is taken until it works again (they wait in the inbox, "
                      "nothing is lost); trying again in %.1f s, backing off up to %.0f s", exc, delay,
                      config.retry_max_seconds)
        return self.until

    def recovered(self) -> None:
        with self._lock:
            if not self.failures:
                return
            failures, self.failures, self.until = self.failures, 0, 0.0
        log.warning("journal writable again after %d failed attempt(s); taking files again", failures)


@dataclass
class Stats:
    processed: int = 0
    failed: int = 0
    retried: int = 0
    cache_hits: int = 0


class Processor:
    """Runs one input through claim -> read -> OCR (or cache) -> outputs -> journal."""

    def __init__(self, folders: Outputs, journal: Journal, cache: ResultCache,
                 engine_of: Callable[[], Any], config_of: Callable[[], DaemonConfig]) -> None:
        self.folders, self.journal, self.cache = folders, journal, cache
        self.engine_of, self.config_of = engine_of, config_of  # read per job: SIGHUP may swap them
        self.stats = Stats()
        self.outage = JournalOutage(config_of)
        self._lock = threading.Lock()

    def _count(self, field: str) -> None:
        with self._lock:
            setattr(self.stats, field, getattr(self.stats, field) + 1)

    def process(self, rel: str) -> tuple[str, float]:
        """Handle ``rel``; returns (outcome, when to retry if the outcome is RETRY)."""
        try:
            return self._process(rel)
        except JournalError as exc:
            # The file stays where it is; whatever the journal did record resumes it later.
            return RETRY, self.outage.failed(exc)

    def _process(self, rel: str) -> tuple[str, float]:
        path = self.folders.inbox / rel
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return GONE, 0.0
        except OSError as exc:
            return self._transient(rel, None, exc, "stat")
        entry = self.journal.claim(rel, info.st_size, info.st_mtime_ns)
        self.outage.recovered()
        if entry.attempts > self.config_of().max_attempts:
            # Claimed that often without an outcome: earlier attempts died with the process.
            return self._fail(rel, entry, "gave_up", f"{entry.attempts - 1} attempts ended without a result "
                              "(the daemon stopped or crashed while on this file)")
        if self.folders.mode == "in-place" and not self.folders.name_fits_in_place(rel):
            return self._fail(rel, entry, "name_too_long",
                              f"the sidecar {PurePosixPath(rel).name}.json would be longer than the file system "
                              f"allows ({self.folders.name_limit(self.folders.inbox) + 5} bytes) beside the image")
        try:
            data = self._read(path, info)
        except PermanentError as exc:
            return self._fail(rel, entry, exc.code, exc.message)
        except FileNotFoundError:
            self.journal.forget(rel)
            return GONE, 0.0
        except OSError as exc:
            return self._transient(rel, entry, exc, "read")
        sha = hashlib.sha256(data).hexdigest()
        try:
            return self._succeed_or_fail(rel, entry, data, sha)
        except OSError as exc:
            return self._transient(rel, entry, exc, "write")

    def _read(self, path: Path, info: os.stat_result) -> bytes:
        inbox = self.folders.inbox
        if stat.S_ISLNK(info.st_mode):
            if not inbox_rules.contained(inbox, path):
                raise PermanentError("symlink_outside_inbox",
                                     f"symlink to {os.readlink(path)} leads outside the inbox; refused, target untouched")
            if not os.path.isfile(path):  # dangling, or a link to a folder: never becomes readable
                raise PermanentError("file_unreadable", f"symlink to {os.readlink(path)} does not lead to a file")
            flags = os.O_RDONLY  # a link inside the inbox may be followed
        else:
            flags = os.O_RDONLY | os.O_NOFOLLOW  # closes the swap-for-a-symlink window after lstat
        limit = self.engine_of().config.engine.max_bytes
        fd = os.open(path, flags | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            opened = os.fstat(handle.fileno())
            if not stat.S_ISREG(opened.st_mode):
                raise PermanentError("file_unreadable", "not a regular file")
            if opened.st_size > limit:
                raise PermanentError("image_too_large",
                                     f"file is {opened.st_size} bytes; the limit is {limit} (engine.max_bytes)")
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise PermanentError("image_too_large", f"file is larger than {limit} bytes (engine.max_bytes)")
        return data

    def _succeed_or_fail(self, rel: str, entry: Entry, data: bytes, sha: str) -> tuple[str, float]:
        folders = self.folders
        dest = entry.dest[len("processed:"):] if entry.dest and entry.dest.startswith("processed:") else None
        if dest is None:
            dest = folders.choose_dest(folders.processed, rel)
            self.journal.set_dest(rel, "processed:" + dest, sha)
        _, sidecar_path = folders.success_paths(dest)
        previous = read_json(sidecar_path)
        if previous is not None and previous.get("sha256") == sha and previous.get("source") == rel:
            # A crash after the sidecar was written: finish the move, do not run the models again.
            document = previous
        else:
            engine = self.engine_of()
            key = content_key(data, engine.pack.name, engine.default_detector, engine.config.engine.beam_width)
            result = self.cache.get(key)
            if result is None:
                result = engine.run_document(data)
                self.cache.put(key, result)
            else:
                self._count("cache_hits")
            if not result.get("success"):
                error = result.get("error", {})
                return self._fail(rel, entry, error.get("code", "internal_error"), error.get("message", ""), sha)
            document = dict(result)
            document.update(source=rel, received_at=utc_iso(entry.received_at), processed_at=utc_iso(time.time()),
                            attempts=entry.attempts, sha256=sha)
            if dest != rel:  # a name taken already, or too long for processed/: where it is now
                document["stored_as"] = dest
        pdf = None
        if self.config_of().write_pdf:
            from ..errors import PdfOutputError
            from ..pdf_output import searchable_pdf

            try:
                pdf = searchable_pdf(data, document)
            except PdfOutputError as exc:
                return self._fail(rel, entry, exc.code, exc.message, sha)
        folders.write_success(rel, dest, document, pdf)
        self.journal.finish(rel, DONE, sha)
        self._count("processed")
        log.info("done %s -> %s (%d lines, attempt %d)", rel, sidecar_path, len(document.get("text_lines", [])),
                 entry.attempts)
        return DONE, 0.0

    def _fail(self, rel: str, entry: Entry, code: str, message: str, sha: str | None = None) -> tuple[str, float]:
        folders = self.folders
        recorded = self.journal.get(rel)  # fresher than ``entry``: this attempt may have set a destination
        recorded_dest = (recorded.dest if recorded else None) or entry.dest
        if recorded_dest and recorded_dest.startswith("processed:"):
            # An earlier attempt (killed before the move, or one that could not place the image)
            # may have written a success sidecar: the input fails, so it must not stay behind.
            folders.discard_success(recorded_dest[len("processed:"):])
        dest = recorded_dest[len("failed:"):] if recorded_dest and recorded_dest.startswith("failed:") else None
        if dest is None:
            dest = folders.choose_dest(folders.failed, rel)
        self.journal.set_dest(rel, "failed:" + dest, sha)
        history = list(entry.errors) + [{"at": utc_iso(time.time()), "attempt": entry.attempts, "code": code,
                                         "message": message}]
        report = {"success": False, "error": {"code": code, "message": message}, "source": rel,
                  "received_at": utc_iso(entry.received_at), "failed_at": utc_iso(time.time()),
                  "attempts": entry.attempts, "sha256": sha, "history": history}
        if dest != rel:
            report["stored_as"] = dest
        try:
            error_path = folders.write_failure(rel, dest, report)
        except FileNotFoundError:
            self.journal.forget(rel)
            return GONE, 0.0
        except OSError as exc:
            # Cannot even move it to failed/ (read-only inbox, disk full): keep it, try later.
            due = time.time() + self.config_of().retry_max_seconds
            self.journal.retry(rel, {"at": utc_iso(time.time()), "attempt": entry.attempts, "code": "cannot_move_to_failed",
                                     "message": describe(exc)}, due)
            log.error("cannot move %s to failed/ (%s); it stays in the inbox, next try in %.0f s",
                      rel, describe(exc), due - time.time())
            self._count("retried")
            return RETRY, due
        self.journal.finish(rel, FAILED, sha)
        self._count("failed")
        log.warning("failed %s: %s: %s -> %s", rel, code, message, error_path)
        return FAILED, 0.0

    def _transient(self, rel: str, entry: Entry | None, exc: OSError, stage: str) -> tuple[str, float]:
        config = self.config_of()
        if entry is None:  # could not even stat it: nothing recorded, the rescan finds it again
            log.warning("cannot %s %s: %s; will retry", stage, rel, describe(exc))
            return RETRY, time.time() + config.retry_base_seconds
        if entry.attempts >= config.max_attempts:
            return self._fail(rel, entry, f"{stage}_failed", f"gave up after {entry.attempts} attempts; last: "
                              f"{describe(exc)}", entry.sha256)
        due = time.time() + backoff(config, entry.attempts)
        self.journal.retry(rel, {"at": utc_iso(time.time()), "attempt": entry.attempts, "code": f"{stage}_failed",
                                 "message": describe(exc)}, due)
        self._count("retried")
        log.warning("%s %s failed (attempt %d of %d): %s; nothing lost, retrying in %.1f s",
                    stage, rel, entry.attempts, config.max_attempts, describe(exc), due - time.time())
        return RETRY, due


class WorkerPool:
    """A bounded queue and N threads. ``stop`` lets each thread finish the file in hand."""

    def __init__(self, processor: Processor, workers: int, queue_size: int,
                 on_outcome: Callable[[str, str, float], None]) -> None:
        self.processor = processor
        self.queue: queue.Queue[str] = queue.Queue(maxsize=queue_size)
        self.on_outcome = on_outcome
        self._stop = threading.Event()
        self.busy = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"edgeocr-worker-{i + 1}", daemon=True)
                         for i in range(workers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def offer(self, rel: str) -> bool:
        """Queue ``rel`` if there is room; False is back-pressure (the file waits in the inbox)."""
        if self._stop.is_set():
            return False
        try:
            self.queue.put_nowait(rel)
            return True
        except queue.Full:
            return False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rel = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if self._stop.is_set():
                self.on_outcome(rel, "stopped", 0.0)
                break
            with self._lock:
                self.busy += 1
            try:
                outcome, due = self.processor.process(rel)
            except Exception:  # a bug must cost one file an attempt, never the worker
                log.exception("unexpected error on %s; it stays in the inbox for the next rescan", rel)
                outcome, due = RETRY, time.time() + self.processor.config_of().retry_base_seconds
            finally:
                with self._lock:
                    self.busy -= 1
            self.on_outcome(rel, outcome, due)

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop taking work; queued files stay in the inbox. True if every thread ended in time."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def depth(self) -> int:
        return self.queue.qsize()
