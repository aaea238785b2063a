"""The folder service: observer + start-up scan + periodic rescan -> settle tracker -> workers.

Threads: the watchdog observer (only turns events into path hints), one dispatcher (settles,
filters and queues), N workers (``worker.py``). ``start``/``stop`` make it usable in-process (tests,
``edgeocr run``); signals are handled by the caller (``command.py``), which owns the main thread.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import queue
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

from ..cache import ResultCache
from ..config import Config
from ..errors import ConfigError
from . import inbox as inbox_rules
from .folders import lock_state_dir, resolve_folders
from .journal import Journal, JournalError
from .outputs import Outputs
from .worker import DONE, FAILED, GONE, RETRY, Processor, WorkerPool

log = logging.getLogger("edgeocr.daemon")

# Finished rows are kept a week (for questions like "was this file here?"), pruned hourly.
KEEP_FINISHED_SECONDS = 7 * 86400
PRUNE_EVERY_SECONDS = 3600.0

# Keys a SIGHUP cannot change in a running process (threads and watches are built from them).
RESTART_KEYS = ("inbox", "processed", "failed", "state_dir", "mode", "observer", "poll_interval_seconds",
                "workers", "queue_size", "broker")


class _Hints:
    """watchdog handler: only records paths. Any exception here would kill the observer thread."""

    def __init__(self, sink: "queue.SimpleQueue[str]", wake: threading.Event) -> None:
        self.sink, self.wake = sink, wake

    def dispatch(self, event: Any) -> None:
        try:
            if event.is_directory and event.event_type not in ("created", "moved"):
                return
            self.sink.put(os.fsdecode(event.src_path))
            dest = getattr(event, "dest_path", "")
            if dest:
                self.sink.put(os.fsdecode(dest))
            self.wake.set()
        except Exception:  # pragma: no cover - defensive
            log.exception("observer event dropped (the rescan will find the file)")


class Service:
    def __init__(self, config: Config, engine: Any = None,
                 config_loader: Callable[[], Config] | None = None, command: str = "edgeocr watch") -> None:
        self.config = config
        self.config_loader = config_loader
        self.folders = resolve_folders(config, command)
        if engine is None:
            from ..engine import Engine
            engine = Engine(config, *config.engine.variants())
        self.engine = engine
        daemon = config.daemon
        self.inbox = self.folders["inbox"]
        self._lock_fd = lock_state_dir(self.folders["state_dir"], config.source)
        self.journal = Journal(self.folders["state_dir"])
        self.outputs = Outputs(self.inbox, self.folders["processed"], self.folders["failed"], daemon.mode,
                               daemon.write_text)
        # daemon.broker: the engine runs on `edgeocr worker`s (edgeocr/cluster); all else stays here.
        self.remote: Any = None
        if daemon.broker:
            from ..cluster.dispatcher import RemoteEngine
            self.remote = RemoteEngine(lambda: self.config, lambda: self.engine)
        engine_of = (lambda: self.remote) if self.remote is not None else (lambda: self.engine)
        self.processor = Processor(self.outputs, self.journal, ResultCache(daemon.cache_entries),
                                   engine_of, lambda: self.config.daemon)
        self.pool = WorkerPool(self.processor, daemon.workers, daemon.queue_size, self._on_outcome)
        self.tracker = inbox_rules.SettleTracker(self.inbox, daemon.settle_seconds)
        self._hints: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._deferred: dict[str, float] = {}  # rel -> wall-clock time of the next attempt
        self._waiting: deque[str] = deque()     # settled, but the queue was full
        self._stop = threading.Event()
        self._rescan_now = threading.Event()
        self._next_prune = 0.0
        self._wake = threading.Event()  # an event arrived, or stop/rescan was asked for
        self._observer: Any = None
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="edgeocr-inbox", daemon=True)
        self.ready = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        try:
            self._recover()
        except JournalError as exc:  # a full disk at start: the next start recovers; files wait
            self.processor.outage.failed(exc)
        self.pool.start()
        self._start_observer()
        self._dispatcher.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Finish the files in hand, leave the rest in the inbox. True if all threads ended."""
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
        if self._dispatcher.is_alive():
            self._dispatcher.join(timeout)
        clean = self.pool.stop(timeout)
        if self._observer is not None:
            self._observer.join(timeout)
        self.journal.close()
        os.close(self._lock_fd)  # releases the flock
        return clean and not self._dispatcher.is_alive()

    def healthy(self) -> bool:
        """Observer and dispatcher alive (what the systemd watchdog keep-alive vouches for)."""
        return self._dispatcher.is_alive() and (self._observer is None or self._observer.is_alive())

    def _start_observer(self) -> None:
        from watchdog.observers.polling import PollingObserver

        daemon = self.config.daemon
        observer: Any
        if daemon.observer == "polling":
            observer = PollingObserver(timeout=daemon.poll_interval_seconds)
        else:
            from watchdog.observers import Observer
            observer = Observer()
        try:
            observer.schedule(_Hints(self._hints, self._wake), str(self.inbox), recursive=True)
            observer.start()
        except OSError as exc:
            # inotify watch/instance limits (fs.inotify.max_user_watches): polling still works.
            log.error("inotify unavailable (%s); falling back to polling every %.1f s", exc, daemon.poll_interval_seconds)
            observer = PollingObserver(timeout=daemon.poll_interval_seconds)
            observer.schedule(_Hints(self._hints, self._wake), str(self.inbox), recursive=True)
            observer.start()
        self._observer = observer
        log.info("watching %s (%s, settle %.1f s, rescan every %.0f s, %d worker(s), mode %s)", self.inbox,
                 type(observer).__name__, daemon.settle_seconds, daemon.rescan_seconds, daemon.workers, daemon.mode)
        # Say plainly where files go: the folders may come from a file the user never opened.
        results = "beside each image in the inbox" if daemon.mode == "in-place" else str(self.folders["processed"])
        log.info("writing results to %s, failures to %s, the journal to %s", results, self.folders["failed"],
                 self.folders["state_dir"])
        if self.remote is not None:
            from ..cluster.protocol import redacted
            log.info("OCR runs on edgeocr workers through %s (up to %d jobs in flight)", redacted(daemon.broker),
                     daemon.workers)

    def _recover(self) -> None:
        """Rows a crash left 'processing' whose file already left the inbox: finished, or gone."""
        for entry in self.journal.active():
            if entry.dest:
                self._remove_temporaries(entry.dest)
            if os.path.lexists(self.inbox / entry.rel):
                continue  # the scan finds it; claim resumes into the recorded destination
            if entry.dest and entry.dest.startswith("processed:"):
                moved = self.outputs.success_paths(entry.dest.split(":", 1)[1])[0]
                if os.path.lexists(moved):
                    self.journal.finish(entry.rel, DONE)
                    continue
            if entry.dest and entry.dest.startswith("failed:"):
                if os.path.lexists(self.folders["failed"] / entry.dest.split(":", 1)[1]):
                    self.journal.finish(entry.rel, FAILED)
                    continue
            log.warning("%s left the inbox while the daemon was down; forgetting it", entry.rel)
            self.journal.forget(entry.rel)

    def _remove_temporaries(self, dest: str) -> None:
        """Temp files a kill -9 left mid-write beside this job's destination (never anything else)."""
        kind, rel = dest.split(":", 1)
        image = self.outputs.success_paths(rel)[0] if kind == "processed" else self.folders["failed"] / rel
        for path in self.outputs.temporaries(image):
            try:
                os.unlink(path)
                log.info("removed %s, left by an interrupted write", path)
            except OSError:
                pass

    # -- dispatching ----------------------------------------------------------------------------

    def _consider(self, rel: str) -> None:
        with self._lock:
            if rel in self._in_flight or rel in self._deferred or rel in self._waiting:
                return
        if rel in self.tracker:
            self.tracker.touch(rel)
            return
        daemon = self.config.daemon
        if not inbox_rules.wanted(self.inbox, rel, daemon.ignore, daemon.mode == "in-place"):
            return
        if daemon.mode == "in-place" and self._already_done(rel):
            return
        self.tracker.touch(rel)

    def _already_done(self, rel: str) -> bool:
        entry = self.journal.get(rel)
        if entry is None or entry.state != DONE:
            return False
        try:
            info = os.lstat(self.inbox / rel)
        except OSError:
            return True
        return (entry.size, entry.mtime_ns) == (info.st_size, info.st_mtime_ns)

    def _submit(self, rel: str) -> None:
        entry = self.journal.get(rel)
        if entry is not None and entry.state == RETRY and entry.next_attempt > time.time():
            with self._lock:
                self._deferred[rel] = entry.next_attempt  # backoff survives restarts
            return
        with self._lock:
            self._in_flight.add(rel)
        if not self.pool.offer(rel):
            with self._lock:
                self._in_flight.discard(rel)
                self._waiting.append(rel)

    def _on_outcome(self, rel: str, outcome: str, due: float) -> None:
        with self._lock:
            self._in_flight.discard(rel)
            if outcome == RETRY:
                self._deferred[rel] = due
                self._wake.set()  # so the dispatcher's sleep ends in time for the retry
        if outcome == GONE:
            log.info("%s vanished before it was read", rel)

    def _tick(self, now: float, rescan_due: bool) -> None:
        while True:
            try:
                path = self._hints.get_nowait()
            except queue.Empty:
                break
            rel = inbox_rules.relative_name(self.inbox, Path(path))
            if rel is not None:
                self._guarded(self._consider, rel)
        if rescan_due:
            daemon = self.config.daemon
            for rel in inbox_rules.scan(self.inbox, daemon.ignore, daemon.mode == "in-place"):
                self._guarded(self._consider, rel)
            if daemon.mode == "move" and now >= self._next_prune:
                # In-place mode keeps its rows: they are how an unchanged image is known as done.
                self._next_prune = now + PRUNE_EVERY_SECONDS
                pruned = self.journal.prune(time.time() - KEEP_FINISHED_SECONDS)
                if pruned:
                    log.info("journal: dropped %d finished rows older than %d days", pruned,
                             KEEP_FINISHED_SECONDS // 86400)
        wall = time.time()
        with self._lock:
            due = [rel for rel, when in self._deferred.items() if when <= wall]
            for rel in due:
                del self._deferred[rel]
            waiting = list(self._waiting)
            self._waiting.clear()
        for rel in due:
            self._guarded(self._consider, rel)
        ready = waiting + self.tracker.poll()
        for index, rel in enumerate(ready):
            if self._stop.is_set():
                return
            if self.processor.outage.blocked() or (self.remote is not None and self.remote.blocked()):
                # The journal (or the broker) is down: nothing can be claimed; the files wait, in order.
                with self._lock:
                    self._waiting.extend(ready[index:])
                return
            self._guarded(self._submit, rel)

    def _guarded(self, step: Callable[[str], None], rel: str) -> None:
        """One file's dispatching step; whatever it raises stays with that file (the others of
        this cycle are still taken): a journal outage holds the file back, anything else defers
        just this file until ``retry_max_seconds`` and says so once."""
        try:
            step(rel)
        except JournalError as exc:
            until = self.processor.outage.failed(exc)
            with self._lock:
                self._deferred[rel] = until  # considered afresh once the journal answers again
        except Exception:
            due = time.time() + self.config.daemon.retry_max_seconds
            log.exception("cannot dispatch %s; it stays in the inbox, next try in %.0f s", rel,
                          self.config.daemon.retry_max_seconds)
            with self._lock:
                self._deferred[rel] = due

    def _dispatch_loop(self) -> None:
        next_rescan = 0.0
        announced = False
        while not self._stop.is_set():
            now = time.monotonic()
            rescan_due = now >= next_rescan or self._rescan_now.is_set()
            if rescan_due:
                self._rescan_now.clear()
                next_rescan = now + self.config.daemon.rescan_seconds
            try:
                self._tick(now, rescan_due)
            except Exception:  # the loop must survive anything one path can throw at it
                log.exception("dispatcher error; continuing")
            if not announced:
                announced = True
                self.ready.set()  # the start-up scan has run and the observer is up
            self._wake.wait(self._idle_wait(next_rescan))
            self._wake.clear()

    def _idle_wait(self, next_rescan: float) -> float:
        """Tick often while files settle; otherwise sleep until an event, a rescan or a retry is due
        (a Pi idles at ~0 % CPU)."""
        with self._lock:
            busy = bool(self._waiting)
            next_retry = min(self._deferred.values(), default=None)
        outage = self.processor.outage
        if outage.blocked():  # nothing to do before the journal's next try
            return min(max(0.05, outage.until - time.time()), 5.0)
        if self.remote is not None and not self.remote.broker.up:
            return 1.0  # the broker's probe has its own backoff
        if busy or len(self.tracker):
            return min(0.5, max(0.05, self.config.daemon.settle_seconds / 4))
        wait = next_rescan - time.monotonic()
        if next_retry is not None:
            wait = min(wait, next_retry - time.time())
        return min(max(0.05, wait), 5.0)

    # -- reload and health ------------------------------------------------------------------------

    def reload(self) -> bool:
        """Re-read the config (SIGHUP). An invalid file is logged and the running config kept."""
        if self.config_loader is None:
            log.warning("SIGHUP: no config file to reload")
            return False
        try:
            new = self.config_loader()
        except ConfigError as exc:
            log.error("SIGHUP: config not reloaded, keeping the running one: %s", exc.message)
            return False
        old = self.config
        kept = {key: getattr(old.daemon, key) for key in RESTART_KEYS
                if getattr(new.daemon, key) != getattr(old.daemon, key)}
        if kept:
            log.warning("SIGHUP: %s change(s) only at restart; keeping the running value(s)", ", ".join(sorted(kept)))
        new = dataclasses.replace(new, daemon=dataclasses.replace(new.daemon, **kept))
        if (new.engine, new.preprocess) != (old.engine, old.preprocess):
            try:
                from ..engine import Engine
                engine = Engine(new, *new.engine.variants())
            except Exception as exc:  # a broken pack must not take the running engine down
                log.error("SIGHUP: engine not reloaded, keeping the running one: %s", exc)
                return False
            self.engine = engine
            self.processor.cache = ResultCache(new.daemon.cache_entries)  # old results used old settings
            log.info("SIGHUP: engine rebuilt for the folders (the web server and sources keep theirs until restart)")
        elif new.daemon.cache_entries != old.daemon.cache_entries:
            self.processor.cache = ResultCache(new.daemon.cache_entries)
        self.config = new
        self.tracker.settle_seconds = new.daemon.settle_seconds
        self.outputs.write_text = new.daemon.write_text
        self._rescan_now.set()
        self._wake.set()
        log.info("SIGHUP: config reloaded from %s", new.source)
        return True

    def health(self) -> dict[str, Any]:
        stats = self.processor.stats
        with self._lock:
            in_flight, deferred, waiting = len(self._in_flight), len(self._deferred), len(self._waiting)
        return {"inbox": str(self.inbox), "queue_depth": self.pool.depth() + waiting, "in_flight": in_flight,
                "busy_workers": self.pool.busy, "settling": len(self.tracker), "retry_pending": deferred,
                "processed": stats.processed, "failed": stats.failed, "retries": stats.retried,
                "cache_hits": stats.cache_hits, "healthy": self.healthy(),
                **({"cluster": self.remote.health()} if self.remote is not None else {})}
