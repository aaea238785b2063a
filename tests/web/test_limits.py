"""Admission: at most N running and M waiting; the rest refused at once; close() frees waiters."""
from __future__ import annotations

import threading
import time

import pytest

from edgeocr.web.limits import Admission, Busy


def test_running_and_waiting_are_bounded_and_a_freed_slot_goes_to_a_waiter():
    admission = Admission(max_running=1, max_waiting=1)
    release = threading.Event()
    order: list[str] = []

    def job(name: str) -> None:
        with admission.slot():
            order.append(name)
            release.wait(10)

    first = threading.Thread(target=job, args=("first",))
    first.start()
    while admission.depth() != (1, 0):
        time.sleep(0.01)
    second = threading.Thread(target=job, args=("second",))
    second.start()
    while admission.depth() != (1, 1):
        time.sleep(0.01)
    with pytest.raises(Busy):  # one running, one waiting: a third is refused without waiting
        with admission.slot():
            pass
    release.set()
    first.join(5)
    second.join(5)
    assert order == ["first", "second"]
    assert admission.depth() == (0, 0)


def test_a_job_that_raises_gives_its_slot_back():
    admission = Admission(max_running=1, max_waiting=0)
    with pytest.raises(ValueError):
        with admission.slot():
            raise ValueError("bug in a job")
    with admission.slot():
        assert admission.depth() == (1, 0)


def test_close_sends_waiters_away_and_refuses_new_jobs():
    admission = Admission(max_running=1, max_waiting=2)
    hold = threading.Event()
    outcome: list[str] = []

    def holder() -> None:
        with admission.slot():
            hold.wait(10)

    def waiter() -> None:
        try:
            with admission.slot():
                outcome.append("ran")
        except Busy:
            outcome.append("busy")

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    while admission.depth()[0] != 1:
        time.sleep(0.01)
    threads.append(threading.Thread(target=waiter))
    threads[1].start()
    while admission.depth()[1] != 1:
        time.sleep(0.01)
    admission.close()
    threads[1].join(5)
    assert outcome == ["busy"]
    hold.set()
    threads[0].join(5)
    with pytest.raises(Busy):
        with admission.slot():
            pass


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError):
        Admission(0, 1)
    with pytest.raises(ValueError):
        Admission(1, -1)
