"""Admission control: a bounded number of OCR jobs running and waiting, never an unbounded pile-up.

A job holds a server thread while it runs or waits, so the bound also keeps threads free to answer
``/health`` and the 503s themselves at once.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Busy(Exception):
    """Every job slot is taken and the waiting line is full (or the server is stopping)."""


class Admission:
    def __init__(self, max_running: int, max_waiting: int) -> None:
        if max_running < 1 or max_waiting < 0:
            raise ValueError("max_running must be >= 1 and max_waiting >= 0")
        self.max_running = max_running
        self.max_waiting = max_waiting
        self._cond = threading.Condition()
        self._running = 0
        self._waiting = 0
        self._closed = False

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Run the body as one job: wait for a free slot if the line has room, else raise ``Busy``."""
        with self._cond:
            if self._closed:
                raise Busy("the server is stopping")
            if self._running >= self.max_running:
                if self._waiting >= self.max_waiting:
                    raise Busy(f"{self._running} job(s) running and {self._waiting} waiting; try again shortly")
                self._waiting += 1
                try:
                    while self._running >= self.max_running and not self._closed:
                        self._cond.wait()
                finally:
                    self._waiting -= 1
                if self._closed:
                    raise Busy("the server is stopping")
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify()

    def close(self) -> None:
        """Refuse new jobs and send every waiting one away with ``Busy`` (shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def depth(self) -> tuple[int, int]:
        """(running, waiting) right now."""
        with self._cond:
            return self._running, self._waiting
