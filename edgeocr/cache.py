"""A bounded, thread-safe cache of OCR results keyed by content hash and options.

Scanners re-send the same page and web clients retry; the daemon and the web API both answer a
repeat from here instead of running the models again. Only successful results are cached: an
error may be transient (a file still being written), and caching it would make it permanent.
"""
from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from typing import Any, Hashable


def content_key(data: bytes, *options: Hashable) -> tuple[Hashable, ...]:
    """The cache key for encoded image bytes read with the given per-call options."""
    return (hashlib.sha256(data).hexdigest(), *options)


class ResultCache:
    """Least-recently-used mapping of key -> result dict, at most ``max_entries`` long."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be >= 0")
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> dict[str, Any] | None:
        """A deep copy of the cached result (callers add their own fields), or ``None``."""
        with self._lock:
            result = self._entries.get(key)
            if result is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        return copy.deepcopy(result)

    def put(self, key: Hashable, result: dict[str, Any]) -> None:
        if self.max_entries == 0 or not result.get("success"):
            return
        stored = copy.deepcopy(result)
        with self._lock:
            self._entries[key] = stored
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
