"""The shared result cache: bounded, least-recently-used, successes only, copies out."""
from __future__ import annotations

import threading

import pytest

from edgeocr.cache import ResultCache, content_key


def ok(text: str) -> dict:
    return {"success": True, "text": text, "text_lines": [{"text": text}]}


def test_key_depends_on_content_and_options():
    assert content_key(b"abc", "db", 0) == content_key(b"abc", "db", 0)
    assert content_key(b"abc", "db", 0) != content_key(b"abd", "db", 0)
    assert content_key(b"abc", "db", 0) != content_key(b"abc", "db", 5)


def test_least_recently_used_entry_is_evicted_first():
    cache = ResultCache(2)
    cache.put("a", ok("a"))
    cache.put("b", ok("b"))
    assert cache.get("a")["text"] == "a"  # a is now the most recent
    cache.put("c", ok("c"))
    assert cache.get("b") is None
    assert cache.get("a")["text"] == "a" and cache.get("c")["text"] == "c"
    assert len(cache) == 2
    assert (cache.hits, cache.misses) == (3, 1)


def test_errors_are_not_cached_and_zero_size_caches_nothing():
    cache = ResultCache(4)
    cache.put("bad", {"success": False, "error": {"code": "bad_image", "message": "x"}})
    assert cache.get("bad") is None
    empty = ResultCache(0)
    empty.put("a", ok("a"))
    assert empty.get("a") is None and len(empty) == 0


def test_callers_get_copies_they_may_change():
    cache = ResultCache(2)
    original = ok("a")
    cache.put("a", original)
    original["text_lines"][0]["text"] = "changed after put"
    first = cache.get("a")
    first["source"] = "x"
    first["text_lines"][0]["text"] = "changed after get"
    again = cache.get("a")
    assert "source" not in again and again["text_lines"][0]["text"] == "a"


def test_concurrent_use_keeps_the_bound():
    cache = ResultCache(8)

    def hammer(offset: int) -> None:
        for i in range(500):
            cache.put((offset, i % 20), ok(str(i)))
            cache.get((offset, (i * 7) % 20))

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 8


def test_negative_size_is_refused():
    with pytest.raises(ValueError):
        ResultCache(-1)
