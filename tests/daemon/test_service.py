"""The folder service in-process (real inbox, real inotify, real engine, real filesystems)."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.daemon.conftest import SAMPLES, files_under, read_json, wait_for


def test_a_file_written_in_chunks_is_taken_once_whole(tmp_path, daemon, images):
    service = daemon(settle_seconds=1.0)
    data = images["total"]
    target = tmp_path / "inbox" / "slow.png"
    chunks = [data[i:i + len(data) // 8 + 1] for i in range(0, len(data), len(data) // 8 + 1)]
    with open(target, "wb") as handle:  # ~2 s of writing, gaps a quarter of the settle time
        for chunk in chunks:
            handle.write(chunk)
            handle.flush()
            time.sleep(0.25)
            assert not (tmp_path / "processed" / "slow.png.json").exists()
    assert wait_for(lambda: (tmp_path / "processed" / "slow.png").exists())  # moved after the sidecar
    sidecar = read_json(tmp_path / "processed" / "slow.png.json")
    assert sidecar["text"] == SAMPLES["total"][0] and sidecar["attempts"] == 1
    assert (tmp_path / "processed" / "slow.png").read_bytes() == data
    assert files_under(tmp_path / "failed") == []
    assert wait_for(lambda: service.health()["processed"] == 1)  # counted just after the move


def test_a_burst_of_500_files_each_once(tmp_path, daemon, images):
    service = daemon(settle_seconds=0.2, workers=2, queue_size=16)
    names = list(SAMPLES)
    expected = {}
    for i in range(500):
        name = names[i % len(names)]
        rel = f"batch{i % 5}/{i:03d}-{name}.png"  # subfolders are mirrored
        (tmp_path / "inbox" / rel).parent.mkdir(parents=True, exist_ok=True)
        temp = tmp_path / "inbox" / f".{i}.part"  # the maildir way: write hidden, rename in
        temp.write_bytes(images[name])
        os.rename(temp, tmp_path / "inbox" / rel)
        expected[rel] = SAMPLES[name][0]
    assert wait_for(lambda: service.health()["processed"] >= 500, timeout=90)
    assert wait_for(lambda: files_under(tmp_path / "inbox") == [], timeout=10)
    produced = files_under(tmp_path / "processed")
    assert produced == sorted([*expected, *(rel + ".json" for rel in expected)])  # no duplicates, no extras
    for rel, text in list(expected.items())[::25]:
        assert read_json(tmp_path / "processed" / (rel + ".json"))["text"] == text
    assert files_under(tmp_path / "failed") == []
    assert service.health()["processed"] == 500 and service.health()["cache_hits"] >= 500 - 2 * len(SAMPLES)


def test_junk_names_stay_untouched(tmp_path, daemon, images):
    service = daemon()
    junk = ["a.png.part", "b.tmp", "c.png~", ".hidden.png", "Thumbs.db", "@eaDir/x.png", "~$d.png"]
    for rel in junk:
        (tmp_path / "inbox" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "inbox" / rel).write_bytes(images["cash"])
    (tmp_path / "inbox" / "real.png").write_bytes(images["cash"])
    assert wait_for(lambda: (tmp_path / "processed" / "real.png.json").exists())
    time.sleep(0.5)  # give a wrongly taken junk file the time to show up
    assert files_under(tmp_path / "inbox") == sorted(junk)
    assert files_under(tmp_path / "failed") == []
    assert service.health()["processed"] == 1


def test_in_place_mode_writes_beside_and_redoes_only_changed_files(tmp_path, daemon, images):
    service = daemon(mode="in-place", write_text=True)
    inbox = tmp_path / "inbox"
    (inbox / "shop").mkdir()
    (inbox / "shop" / "a.png").write_bytes(images["milk"])
    assert wait_for(lambda: (inbox / "shop" / "a.png.json").exists())
    assert read_json(inbox / "shop" / "a.png.json")["text"] == SAMPLES["milk"][0]
    assert (inbox / "shop" / "a.png.txt").read_text() == SAMPLES["milk"][0] + "\n"
    assert (inbox / "shop" / "a.png").read_bytes() == images["milk"]  # the image stays
    service._rescan_now.set()  # a rescan must not redo it (nor read our sidecars as inputs)
    time.sleep(1.0)
    assert service.health()["processed"] == 1 and files_under(tmp_path / "failed") == []
    (inbox / "shop" / "a.png").write_bytes(images["bread"])  # replaced: read again
    assert wait_for(lambda: read_json(inbox / "shop" / "a.png.json")["text"] == SAMPLES["bread"][0])
    assert wait_for(lambda: service.health()["processed"] == 2)


def fill_up(path: Path) -> None:
    """Write ``path`` until its file system says it is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass  # full
    finally:
        os.close(fd)


def test_disk_full_on_a_real_tiny_filesystem_retries_and_loses_nothing(tmp_path, daemon, images, tmpfs):
    # A real ENOSPC: processed/ is a 256 KiB tmpfs filled up before the file arrives.
    processed = tmpfs(tmp_path / "processed", "256k")
    filler = processed / "filler"
    fill_up(filler)
    service = daemon(retry_base_seconds=0.3, retry_max_seconds=0.5, max_attempts=50)
    (tmp_path / "inbox" / "a.png").write_bytes(images["total"])
    assert wait_for(lambda: service.journal.get("a.png") is not None and service.journal.get("a.png").errors)
    entry = service.journal.get("a.png")
    assert "ENOSPC" in entry.errors[0]["message"]
    assert (tmp_path / "inbox" / "a.png").read_bytes() == images["total"]
    assert not any(name.endswith(".json") for name in os.listdir(processed))  # no partial sidecar
    filler.unlink()  # space comes back
    assert wait_for(lambda: (processed / "a.png").exists(), timeout=15)  # moved after the sidecar
    assert read_json(processed / "a.png.json")["text"] == SAMPLES["total"][0]
    assert (processed / "a.png").read_bytes() == images["total"]


def test_read_only_inbox_keeps_files_and_recovers(tmp_path, daemon, images, tmpfs):
    # A real read-only filesystem: the inbox is a tmpfs remounted ro (root ignores mode bits).
    inbox = tmpfs(tmp_path / "inbox", "4m")
    (inbox / "a.png").write_bytes(images["cash"])
    subprocess.run(["mount", "-o", "remount,ro", str(inbox)], check=True)
    service = daemon(retry_base_seconds=0.3, retry_max_seconds=0.5, max_attempts=50)
    assert wait_for(lambda: service.journal.get("a.png") is not None and service.journal.get("a.png").errors)
    assert "EROFS" in service.journal.get("a.png").errors[0]["message"]
    assert (inbox / "a.png").read_bytes() == images["cash"]
    subprocess.run(["mount", "-o", "remount,rw", str(inbox)], check=True)
    assert wait_for(lambda: files_under(inbox) == [], timeout=15)
    assert read_json(tmp_path / "processed" / "a.png.json")["text"] == SAMPLES["cash"][0]
    assert files_under(tmp_path / "processed") == ["a.png", "a.png.json"]


def test_outputs_inside_the_inbox_are_refused(tmp_path, engine):
    from edgeocr.config import config_from_dict
    from edgeocr.daemon.service import Service
    from edgeocr.errors import ConfigError

    config = config_from_dict({"daemon": {"inbox": str(tmp_path / "in"), "processed": str(tmp_path / "in" / "done"),
                                          "failed": str(tmp_path / "failed"), "state_dir": str(tmp_path / "s")}}, "x.yaml")
    with pytest.raises(ConfigError, match=r"x.yaml: daemon.processed: .* inside daemon.inbox"):
        Service(config, engine=engine)


def test_polling_observer_sees_new_files(tmp_path, daemon, images):
    service = daemon(observer="polling", poll_interval_seconds=0.2, rescan_seconds=600)
    time.sleep(0.3)  # after the start-up scan: only the observer can report this file
    (tmp_path / "inbox" / "late.png").write_bytes(images["bread"])
    assert wait_for(lambda: (tmp_path / "processed" / "late.png.json").exists())
    assert service.health()["healthy"]


def test_a_second_daemon_on_the_same_state_folder_is_refused(tmp_path, daemon, engine):
    from edgeocr.daemon.service import Service
    from edgeocr.errors import ConfigError

    first = daemon()
    with pytest.raises(ConfigError, match=rf"daemon.state_dir: .* in use by another edgeocr daemon \(pid {os.getpid()}\)"):
        Service(first.config, engine=engine)
    assert first.stop()
    second = Service(first.config, engine=engine)  # the lock went with the first one
    second.start()
    assert second.stop()


def test_a_name_that_is_not_utf8_holds_up_nothing_and_keeps_its_bytes(tmp_path, daemon, images):
    # Written before the start: the start-up scan finds the bad name first, then the good ones, in
    # one dispatcher cycle (the name used to abort that cycle: UnicodeEncodeError in the journal).
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bad = b"scan-\xff\xfe.png"
    with open(os.path.join(os.fsencode(inbox), bad), "wb") as handle:
        handle.write(images["total"])
    for name in ("a.png", "b.png", "c.png"):
        (inbox / name).write_bytes(images["cash"])
    service = daemon()
    processed = os.fsencode(tmp_path / "processed")
    assert wait_for(lambda: os.listdir(inbox) == [], timeout=30), os.listdir(inbox)
    assert sorted(os.listdir(processed)) == sorted([b"a.png", b"a.png.json", b"b.png", b"b.png.json", b"c.png",
                                                    b"c.png.json", bad, bad + b".json"])
    sidecar = json.loads(open(os.path.join(processed, bad + b".json"), "rb").read())  # valid JSON, ASCII-escaped
    assert os.fsencode(sidecar["source"]) == bad and sidecar["text"] == SAMPLES["total"][0]
    assert wait_for(lambda: service.health()["processed"] == 4)  # counted just after the move


def test_a_full_disk_under_the_journal_is_one_outage_with_backoff(tmp_path, daemon, images, tmpfs, caplog):
    # A real SQLITE_FULL: the state folder is a 1 MiB tmpfs, filled up once the daemon runs.
    state = tmpfs(tmp_path / "state", "1m")  # room, once the filler goes, for the WAL of 6 files
    service = daemon(retry_base_seconds=0.1, retry_max_seconds=0.8, max_attempts=3)
    filler = state / "filler"
    fill_up(filler)
    caplog.set_level(logging.INFO, logger="edgeocr.daemon")
    inbox = tmp_path / "inbox"
    for i in range(6):
        (inbox / f"p{i}.png").write_bytes(images["milk"])
    outage = service.processor.outage
    assert wait_for(lambda: outage.failures >= 3, timeout=30)  # probed again, with growing waits
    assert sorted(os.listdir(inbox)) == [f"p{i}.png" for i in range(6)]  # all kept, none failed
    filler.unlink()  # space comes back
    assert wait_for(lambda: len(os.listdir(tmp_path / "processed")) == 12, timeout=30)
    assert os.listdir(inbox) == [] and os.listdir(tmp_path / "failed") == []
    records = [r for r in caplog.records if r.name.startswith("edgeocr")]
    assert not [r for r in records if r.exc_info], "no traceback for an outage"
    assert len([r for r in records if "journal unavailable" in r.getMessage()]) == 1
    assert len([r for r in records if "journal writable again" in r.getMessage()]) == 1
    assert not [r for r in records if r.levelno >= logging.WARNING
                and "journal" not in r.getMessage()], "one line per state change, nothing per file"


@pytest.mark.parametrize("inner, outer", [("inbox", "processed"), ("inbox", "failed"), ("inbox", "state_dir"),
                                          ("state_dir", "processed"), ("failed", "state_dir"),
                                          ("processed", "inbox"), ("state_dir", "inbox")])
def test_no_folder_may_lie_inside_another(tmp_path, inner, outer):
    from edgeocr.config import config_from_dict
    from edgeocr.daemon.service import resolve_folders
    from edgeocr.errors import ConfigError

    folders = {key: str(tmp_path / key) for key in ("inbox", "processed", "failed", "state_dir")}
    folders[inner] = str(tmp_path / outer / "sub")
    config = config_from_dict({"daemon": folders}, "x.yaml")
    with pytest.raises(ConfigError, match=rf"x.yaml: daemon.{inner}: .* lies inside daemon.{outer}"):
        resolve_folders(config)
    assert not (tmp_path / outer / "sub").exists()  # refused before anything was created


def test_two_keys_naming_one_folder_are_refused(tmp_path):
    from edgeocr.config import config_from_dict
    from edgeocr.daemon.service import resolve_folders
    from edgeocr.errors import ConfigError

    config = config_from_dict({"daemon": {"inbox": str(tmp_path / "in"), "processed": str(tmp_path / "out"),
                                          "failed": str(tmp_path / "out"), "state_dir": str(tmp_path / "s")}}, "x.yaml")
    with pytest.raises(ConfigError, match=r"daemon.processed: .* is the same folder as daemon.failed"):
        resolve_folders(config)


def test_a_restart_removes_the_temporaries_an_interrupted_job_left(tmp_path, daemon, images):
    from edgeocr.daemon.journal import Journal
    from edgeocr.daemon.outputs import moving_temp
    from edgeocr.fileio import temp_prefix

    # What kill -9 leaves mid-output: the row "processing" with its destination, a half-written
    # sidecar temporary and a half copy across file systems beside it, the image still in the inbox.
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.png").write_bytes(images["total"])
    journal = Journal(tmp_path / "state")
    journal.claim("a.png", 1, 1)
    journal.set_dest("a.png", "processed:a.png")
    journal.close()
    processed = tmp_path / "processed"
    processed.mkdir()
    left = [processed / f"{temp_prefix('a.png.json')}x1y2z3.tmp", moving_temp(processed / "a.png")]
    for path in left:
        path.write_bytes(b"half")
    (processed / "keep.tmp").write_bytes(b"not ours")  # never anything else
    daemon()
    assert not any(path.exists() for path in left)
    assert wait_for(lambda: (processed / "a.png").exists())
    assert sorted(os.listdir(processed)) == ["a.png", "a.png.json", "keep.tmp"]
    assert read_json(processed / "a.png.json")["attempts"] == 2
