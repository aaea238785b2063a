"""The recognizer's line lanes: lines run side by side on one-thread calls, with the same answers."""
from __future__ import annotations

import threading

from edgeocr.recognize import Recognizer

from .rendering import render_lines

LINES = ["Invoice No. 2024-0117", "TOTAL 25.00", "Green tea 3.80", "Thank you", "A", "12:30"]


def test_lines_on_parallel_lanes_read_the_same_as_one_at_a_time(engine):
    crops = [render_lines([text], font_size=30, margin=8) for text in LINES]
    rec = engine.recognizer
    assert rec.lanes == engine.threads
    one = Recognizer(rec.session, rec.charset, rec.spec, rec.batch_size, rec.blank_index, lanes=1)
    many = Recognizer(rec.session, rec.charset, rec.spec, rec.batch_size, rec.blank_index, lanes=3)
    before = threading.active_count()
    assert [t.text for t in many.recognize(crops)] == [t.text for t in one.recognize(crops)]
    assert [t.text.strip() for t in one.recognize(crops)] == LINES
    assert threading.active_count() == before  # the lanes' pool is gone when the call returns
