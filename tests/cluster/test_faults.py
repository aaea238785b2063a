"""Issue 13's fault test: 3 worker processes, 300 files, kill -9 of workers at random moments, one
restart of the broker (which forgets everything: no persistence) and one kill -9 + restart of the
dispatcher. Every input must end exactly once, with the right text, and nothing left over."""
from __future__ import annotations

import random
import signal
import sqlite3
import time

from tests.cluster.conftest import start_process, start_worker, stop_process, wait_until_quiet, write_cluster_config
from tests.daemon.conftest import files_under, read_json, wait_for
from tests.rendering import encode, render_lines

FILES = 300
BAD = {41, 142, 243}  # not images: they must end in failed/ once, like the good ones in processed/


def lines_of(index: int) -> list[str]:
    return [f"RECEIPT {index + 1000}", f"TOTAL {index % 50}.{index % 10}9"]  # en-latin-v1 reads these exactly


def test_workers_killed_broker_and_dispatcher_restarted_every_input_exactly_once(tmp_path, redis_server):
    inbox = tmp_path / "inbox"
    expected: dict[str, str] = {}
    bad: set[str] = set()
    for i in range(FILES):
        rel = f"d{i % 3}/r{i:03d}.png"
        (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
        if i in BAD:
            (inbox / rel).write_bytes(b"not an image")
            bad.add(rel)
        else:
            (inbox / rel).write_bytes(encode(render_lines(lines_of(i), font_size=26)))
            expected[rel] = "\n".join(lines_of(i))
    config = write_cluster_config(tmp_path / "edgeocr.yaml", tmp_path, redis_server.url)
    workers = [start_worker(config, redis_server.url, f"worker-{n}") for n in range(3)]
    dispatcher = start_process(tmp_path / "dispatcher.log", "watch", "--config", str(config))
    rng = random.Random(13)
    kills = 0
    restarted_dispatcher = restarted_broker = False

    def done() -> int:
        return len(files_under(tmp_path / "processed")) // 2 + len(files_under(tmp_path / "failed")) // 2

    def logs() -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:] for p in sorted(tmp_path.glob("*.log")))

    give_up = time.monotonic() + 150
    try:
        while not wait_for(lambda: done() >= FILES, timeout=rng.uniform(0.3, 1.2)):
            progress = done()
            assert dispatcher.poll() is None or not restarted_dispatcher, logs()
            if progress >= 60 and not restarted_dispatcher:
                dispatcher.send_signal(signal.SIGKILL)  # mid-job: journal rows "processing", jobs in the broker
                dispatcher.wait(10)
                dispatcher = start_process(tmp_path / "dispatcher.log", "watch", "--config", str(config))
                restarted_dispatcher = True
            elif progress >= 130 and not restarted_broker:
                redis_server.stop()  # kill: the queued jobs, markers and answers are gone
                redis_server.start()
                restarted_broker = True
            elif kills < 6 and rng.random() < 0.6:
                victim = rng.randrange(len(workers))
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait(10)
                workers[victim] = start_worker(config, redis_server.url, f"worker-{victim}")
                kills += 1
            assert time.monotonic() < give_up, f"{progress} of {FILES} after 150 s\n" + logs()
        assert wait_for(lambda: files_under(inbox) == [], timeout=30), logs()
        assert restarted_dispatcher and restarted_broker, "the burst ended before the faults; it proved nothing"
        assert wait_until_quiet(redis_server), logs()  # every job retired, none left in the broker
    finally:
        assert stop_process(dispatcher) == 0
        codes = [stop_process(worker) for worker in workers]
    assert codes == [0, 0, 0]  # SIGTERM: finish the job in hand, exit 0

    processed = files_under(tmp_path / "processed")
    assert processed == sorted([*expected, *(rel + ".json" for rel in expected)])  # none lost, none twice
    assert files_under(tmp_path / "failed") == sorted([*bad, *(rel + ".error.json" for rel in bad)])
    for rel, text in expected.items():
        sidecar = read_json(tmp_path / "processed" / f"{rel}.json")
        assert sidecar["success"] and sidecar["source"] == rel
        assert sidecar["text"] == text, rel
        assert sidecar["model"]["name"] == "en-latin-v1"
    with sqlite3.connect(tmp_path / "state" / "journal.sqlite3") as db:
        states = {bytes(rel).decode(): state for rel, state in db.execute("SELECT rel, state FROM files")}
    assert states == {**{rel: "done" for rel in expected}, **{rel: "failed" for rel in bad}}
