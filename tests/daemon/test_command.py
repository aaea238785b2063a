"""``python -m edgeocr watch`` as a real subprocess: config errors, SIGTERM, SIGHUP, kill -9."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.daemon.conftest import (REPO, SAMPLES, files_under, log_text, read_json, start_daemon, wait_for,
                                   write_config_file)
from tests.rendering import encode, render_lines


def stop(process: subprocess.Popen, timeout: float = 10.0) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def journal_states(root: Path) -> dict[str, str]:
    with sqlite3.connect(root / "state" / "journal.sqlite3") as db:
        # Names are stored as the bytes of the file name (they need not be UTF-8).
        return {os.fsdecode(rel): state for rel, state in db.execute("SELECT rel, state FROM files")}


def receipt(index: int) -> bytes:
    """A distinct receipt per index, so that no result comes from the cache."""
    lines = [f"STORE {index:04d}", "MILK 1.99", "BREAD 2.49", f"ITEM {index % 97} 3.{index % 10}0", "TOTAL 12.20"]
    return encode(render_lines(lines, font_size=26))


@pytest.mark.parametrize("setting, key", [("workers: 0", "daemon.workers"), ("nonsense: 1", "daemon.nonsense"),
                                          ("mode: sideways", "daemon.mode")])
def test_config_errors_exit_78_naming_key_and_file(tmp_path, setting, key):
    config = tmp_path / "bad.yaml"
    config.write_text(f"daemon:\n  inbox: {tmp_path / 'in'}\n  {setting}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "edgeocr", "watch", "--config", str(config)], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 78, result.stderr
    assert str(config) in result.stderr and key in result.stderr


def test_outputs_in_the_inbox_exit_78(tmp_path):
    result = subprocess.run([sys.executable, "-m", "edgeocr", "watch", "--inbox", str(tmp_path / "in"),
                             "--processed", str(tmp_path / "in" / "out"), "--state-dir", str(tmp_path / "s"),
                             "--failed", str(tmp_path / "failed")], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 78 and "daemon.processed" in result.stderr


def test_sigterm_finishes_the_file_in_hand_and_leaves_the_rest(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(60):
        (inbox / f"r{i:03d}.png").write_bytes(receipt(i))
    config = write_config_file(tmp_path / "edgeocr.yaml", tmp_path, settle_seconds=0.1, workers=1)
    process = start_daemon(config, "--threads", "1")
    try:
        assert wait_for(lambda: len(files_under(tmp_path / "processed")) >= 4, timeout=60), log_text(config)
    finally:
        started = time.monotonic()
        status = stop(process)
    assert status == 0 and time.monotonic() - started < 5, log_text(config)
    done = [name for name in files_under(tmp_path / "processed") if not name.endswith(".json")]
    left = files_under(inbox)
    assert 0 < len(left) < 60 and sorted(done + left) == [f"r{i:03d}.png" for i in range(60)]
    for name in done:  # every file taken was finished: sidecar complete, nothing half-done
        assert read_json(tmp_path / "processed" / f"{name}.json")["source"] == name
    assert "processing" not in journal_states(tmp_path).values()
    assert "stopping" in log_text(config)
    # Said plainly at start: what is watched and where everything is written.
    assert f"watching {inbox} " in log_text(config)
    assert (f"writing results to {tmp_path / 'processed'}, failures to {tmp_path / 'failed'}, "
            f"the journal to {tmp_path / 'state'}") in log_text(config)


def test_sighup_reloads_and_keeps_the_old_config_when_the_new_one_is_bad(tmp_path, images):
    inbox = tmp_path / "inbox"
    config = write_config_file(tmp_path / "edgeocr.yaml", tmp_path, write_text=False)
    process = start_daemon(config)
    try:
        assert wait_for(lambda: "watching" in log_text(config), timeout=30), log_text(config)
        inbox.joinpath("one.png").write_bytes(images["total"])
        assert wait_for(lambda: (tmp_path / "processed" / "one.png.json").exists())
        assert not (tmp_path / "processed" / "one.png.txt").exists()

        write_config_file(config, tmp_path, write_text=True)
        process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "config reloaded" in log_text(config)), log_text(config)
        inbox.joinpath("two.png").write_bytes(images["cash"])
        assert wait_for(lambda: (tmp_path / "processed" / "two.png.txt").exists())
        assert (tmp_path / "processed" / "two.png.txt").read_text() == SAMPLES["cash"][0] + "\n"

        config.write_text("daemon:\n  workers: lots\n", encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "config not reloaded" in log_text(config)), log_text(config)
        assert "daemon.workers" in log_text(config)
        inbox.joinpath("three.png").write_bytes(images["milk"])  # still running, old config kept
        assert wait_for(lambda: (tmp_path / "processed" / "three.png.txt").exists())
        assert process.poll() is None
    finally:
        assert stop(process) == 0


def test_kill_9_during_a_burst_then_restart_accounts_for_every_input_once(tmp_path, images):
    inbox = tmp_path / "inbox"
    expected_ok, expected_failed = set(), set()
    names = list(SAMPLES)
    for i in range(240):
        rel = f"d{i % 3}/f{i:03d}.png"
        (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
        if i % 40 == 7:
            (inbox / rel).write_bytes(b"not an image at all")
            expected_failed.add(rel)
        elif i % 4 == 0:
            (inbox / rel).write_bytes(receipt(i))  # distinct: the models really run for these
            expected_ok.add(rel)
        else:
            (inbox / rel).write_bytes(images[names[i % len(names)]])
            expected_ok.add(rel)
    config = write_config_file(tmp_path / "edgeocr.yaml", tmp_path, settle_seconds=0.1, workers=2)
    first = start_daemon(config, "--threads", "1")
    try:
        assert wait_for(lambda: len(files_under(tmp_path / "processed")) >= 60, timeout=60), log_text(config)
    finally:
        first.send_signal(signal.SIGKILL)  # no chance to clean up: mid-write, mid-move, mid-journal
        first.wait(10)
    assert files_under(inbox), "the burst finished before the kill; the test proved nothing"

    second = start_daemon(config, "--threads", "1")
    try:
        assert wait_for(lambda: files_under(inbox) == [], timeout=90), log_text(config)
    finally:
        assert stop(second) == 0
    processed = files_under(tmp_path / "processed")
    failed = files_under(tmp_path / "failed")
    assert processed == sorted([*expected_ok, *(rel + ".json" for rel in expected_ok)])  # none lost, none twice
    assert failed == sorted([*expected_failed, *(rel + ".error.json" for rel in expected_failed)])
    for rel in expected_ok:
        sidecar = read_json(tmp_path / "processed" / f"{rel}.json")
        assert sidecar["success"] and sidecar["source"] == rel
    states = journal_states(tmp_path)
    assert {rel for rel, state in states.items() if state == "done"} == expected_ok
    assert {rel for rel, state in states.items() if state == "failed"} == expected_failed


def test_run_serves_web_health_and_speaks_sd_notify(tmp_path, images):
    import json
    import re
    import socket
    import urllib.request

    notify_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(0.2)
    received: list[str] = []

    def drain() -> list[str]:
        while True:
            try:
                received.append(listener.recv(4096).decode())
            except (socket.timeout, BlockingIOError):
                return received

    config = write_config_file(tmp_path / "edgeocr.yaml", tmp_path)
    log = open(config.with_suffix(".log"), "ab")
    process = subprocess.Popen([sys.executable, "-m", "edgeocr", "run", "--config", str(config), "--set", "web.port=0"],
                               cwd=REPO, stdout=log, stderr=log,
                               env={**os.environ, "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "400000"})
    try:
        assert wait_for(lambda: "READY=1" in drain(), timeout=30), log_text(config)
        assert wait_for(lambda: "WATCHDOG=1" in drain(), timeout=5)
        (tmp_path / "inbox" / "a.png").write_bytes(images["total"])
        assert wait_for(lambda: (tmp_path / "processed" / "a.png.json").exists())
        port = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", log_text(config)).group(1)

        def health() -> dict:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
                return json.load(response)

        assert wait_for(lambda: health()["processed"] == 1)  # counted just after the sidecar lands
        assert health()["queue_depth"] == 0 and health()["inbox"] == str(tmp_path / "inbox")
        process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "RELOADING=1" in drain(), timeout=10)
        assert wait_for(lambda: drain()[-1] in ("READY=1", "WATCHDOG=1") and received.count("READY=1") >= 2)
    finally:
        status = stop(process)
        drain()
        listener.close()
    assert status == 0, log_text(config)
    assert received[-1] == "STOPPING=1"


def test_run_starts_the_stdin_source_beside_the_folders(tmp_path, images):
    import json

    config = write_config_file(tmp_path / "edgeocr.yaml", tmp_path)
    log = open(config.with_suffix(".log"), "ab")
    out = open(tmp_path / "stdout.jsonl", "wb")
    process = subprocess.Popen([sys.executable, "-m", "edgeocr", "run", "--config", str(config),
                                "--set", "web.enabled=false", "--set", "sources.stdin.enabled=true",
                                "--set", "sources.stdin.mode=single"],
                               cwd=REPO, stdin=subprocess.PIPE, stdout=out, stderr=log)
    try:
        process.stdin.write(images["bread"])
        process.stdin.close()
        assert wait_for(lambda: "watching" in log_text(config), timeout=30), log_text(config)
        (tmp_path / "inbox" / "a.png").write_bytes(images["milk"])
        assert wait_for(lambda: (tmp_path / "stdout.jsonl").read_bytes().endswith(b"\n"), timeout=30), log_text(config)
        assert wait_for(lambda: (tmp_path / "processed" / "a.png").exists()), log_text(config)
    finally:
        assert stop(process) == 0, log_text(config)
    [line] = (tmp_path / "stdout.jsonl").read_text().splitlines()
    assert json.loads(line)["source"] == "stdin" and json.loads(line)["text"] == SAMPLES["bread"][0]
    assert read_json(tmp_path / "processed" / "a.png.json")["text"] == SAMPLES["milk"][0]


def watch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeocr", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("command", ["watch", "run"])
def test_no_folders_anywhere_is_refused_showing_the_flags(tmp_path, command):
    # The shipped config names no folders: nothing may be created or watched on a guess (the old
    # default was /var/lib/edgeocr/...; a machine with the service installed has that folder).
    guessed = [Path("/var/lib/edgeocr") / name for name in ("inbox", "processed", "failed", "state")]
    existed = [path.exists() for path in guessed]
    result = watch(command)
    assert result.returncode == 78, result.stderr
    assert f"edgeocr {command} --inbox DIR --processed DIR --failed DIR --state-dir DIR" in result.stderr
    assert "daemon.inbox" in result.stderr and "Traceback" not in result.stderr
    assert [path.exists() for path in guessed] == existed
    # Only some given: the message names just the missing ones.
    partial = watch(command, "--inbox", str(tmp_path / "in"), "--state-dir", str(tmp_path / "s"))
    assert partial.returncode == 78
    assert "no folder given for daemon.processed, daemon.failed;" in partial.stderr
    assert not (tmp_path / "in").exists()


def test_a_bad_set_value_is_reported_as_coming_from_the_flag(tmp_path):
    config = write_config_file(tmp_path / "edgeocr.yaml", tmp_path)
    result = watch("watch", "--config", str(config), "--set", "daemon.settle_seconds=.nan")
    assert result.returncode == 78
    assert result.stderr.startswith("edgeocr: --set daemon.settle_seconds=.nan: daemon.settle_seconds: "
                                    "must be a finite number"), result.stderr
    assert str(config) not in result.stderr


def test_an_inbox_inside_processed_is_reported_as_coming_from_the_flag(tmp_path):
    config = write_config_file(tmp_path / "edgeocr.yaml", tmp_path)
    result = watch("watch", "--config", str(config), "--inbox", str(tmp_path / "processed" / "in"))
    assert result.returncode == 78
    assert result.stderr.startswith("edgeocr: --inbox: daemon.inbox: "), result.stderr
    assert f"lies inside daemon.processed ({tmp_path / 'processed'}, from {config})" in result.stderr
