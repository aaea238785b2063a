"""The SQLite journal: states, attempts, error history, and what survives reopening."""
from __future__ import annotations

import os
import sqlite3

import pytest

from edgeocr.daemon.journal import SCHEMA, Journal, JournalError


def test_claim_counts_attempts_and_keeps_history(tmp_path):
    journal = Journal(tmp_path)
    first = journal.claim("a/b.png", 10, 111)
    assert (first.state, first.attempts) == ("processing", 1)
    journal.retry("a/b.png", {"code": "write_failed", "message": "ENOSPC"}, next_attempt=123.0)
    again = journal.claim("a/b.png", 10, 111)
    assert again.attempts == 2
    assert again.errors == [{"code": "write_failed", "message": "ENOSPC"}]
    assert again.received_at == first.received_at
    journal.finish("a/b.png", "done", "abc")
    assert journal.get("a/b.png").state == "done"
    assert journal.counts() == {"done": 1}
    journal.close()


def test_a_finished_name_claimed_again_is_a_new_file(tmp_path):
    journal = Journal(tmp_path)
    journal.claim("a.png", 1, 1)
    journal.set_dest("a.png", "processed:a.png")
    journal.finish("a.png", "failed")
    fresh = journal.claim("a.png", 2, 2)
    assert (fresh.attempts, fresh.dest, fresh.errors) == (1, None, [])
    journal.close()


def test_state_survives_reopening(tmp_path):
    journal = Journal(tmp_path)
    journal.claim("x.png", 5, 5)
    journal.set_dest("x.png", "processed:x.1.png", "f00")
    journal.close()  # as after kill -9, nothing but what was committed remains
    reopened = Journal(tmp_path)
    [entry] = reopened.active()
    assert (entry.rel, entry.state, entry.dest, entry.sha256) == ("x.png", "processing", "processed:x.1.png", "f00")
    reopened.forget("x.png")
    assert reopened.get("x.png") is None
    reopened.close()


def test_prune_drops_only_old_finished_rows(tmp_path):
    import time

    journal = Journal(tmp_path)
    for rel, state in (("old-done", "done"), ("old-failed", "failed"), ("old-retry", None), ("new-done", "done")):
        journal.claim(rel, 1, 1)
        if state:
            journal.finish(rel, state)
    with journal._db:  # age three rows by a week and a day
        journal._db.execute("UPDATE files SET updated_at = updated_at - 8 * 86400 WHERE CAST(rel AS TEXT) LIKE 'old-%'")
    assert journal.prune(time.time() - 7 * 86400) == 2
    assert journal.get("old-retry").state == "processing"  # unfinished work is never dropped
    assert journal.get("new-done").state == "done" and journal.get("old-done") is None
    journal.close()


def test_names_that_are_not_utf8_are_stored_losslessly(tmp_path):
    # What os.scandir gives for the bytes b"scan-\xff\xfe.png": surrogate escapes, which a TEXT
    # column cannot hold (UnicodeEncodeError: surrogates not allowed).
    name = os.fsdecode(b"shop/scan-\xff\xfe.png")
    journal = Journal(tmp_path)
    journal.claim(name, 5, 6)
    journal.set_dest(name, "processed:" + name)
    journal.retry(name, {"code": "write_failed", "message": f"ENOSPC ({name})"}, next_attempt=1.0)
    entry = journal.get(name)
    assert entry.rel == name and os.fsencode(entry.rel) == b"shop/scan-\xff\xfe.png"
    assert entry.dest == "processed:" + name and entry.errors[0]["message"].endswith(f"({name})")
    assert [e.rel for e in journal.active()] == [name]
    assert journal.get("shop/scan-.png") is None  # a different name is a different row
    journal.close()


def test_a_journal_with_text_names_is_converted_on_open(tmp_path):
    # The layout before names were BLOBs: TEXT keys would never match a BLOB key again.
    with sqlite3.connect(tmp_path / "journal.sqlite3") as db:
        db.executescript(SCHEMA.replace("rel BLOB", "rel TEXT").replace("dest BLOB", "dest TEXT"))
        db.execute("INSERT INTO files (rel, state, attempts, dest, received_at, updated_at) "
                   "VALUES ('é.png', 'processing', 1, 'processed:é.png', 1, 1)")
    journal = Journal(tmp_path)
    entry = journal.get("é.png")
    assert (entry.state, entry.dest) == ("processing", "processed:é.png")
    assert journal.claim("é.png", 1, 1).attempts == 2  # the same row, resumed
    journal.close()


def test_sqlite_errors_come_out_as_journal_errors(tmp_path):
    journal = Journal(tmp_path)
    journal.close()
    with pytest.raises(JournalError, match="journal.sqlite3"):
        journal.claim("a.png", 1, 1)
