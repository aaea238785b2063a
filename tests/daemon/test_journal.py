"""The SQLite journal: states, attempts, error history, and what survives reopening."""
from __future__ import annotations

from edgeocr.daemon.journal import Journal


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
