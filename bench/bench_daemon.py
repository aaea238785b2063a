"""Daemon benchmark: files per minute at 1 and 2 workers, idle RSS/CPU, and a kill -9 account.

    python3 bench/bench_daemon.py            # 200 receipts per run, about 4 minutes on 2 cores
    python3 bench/bench_daemon.py --files 40 --idle-seconds 5   # smoke run

Every number comes from a real ``python -m edgeocr watch`` subprocess on temporary folders, all
runs back to back in this one invocation (the machines are shared and noisy: compare the rows
of one run, not runs with each other). Receipts are rendered with a real font, each one distinct
(store number and item lines vary), so the result cache never answers and the models run for
every file.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rendering import encode, render_lines  # noqa: E402
from bench.results_io import write_results  # noqa: E402

ITEMS = ["Latte", "Croissant", "Bagel", "Orange juice", "Muffin", "Espresso", "Tea", "Sandwich", "Soup", "Water"]


def receipt(index: int) -> bytes:
    """A 12-line receipt, distinct per index (so that no result comes from the cache)."""
    lines = [f"CORNER CAFE #{index:04d}", "12 Market Street, Springfield", f"Date: 2024-03-{1 + index % 28:02d} 09:42"]
    total = 0.0
    for row in range(7):
        price = 1 + ((index * 7 + row * 13) % 900) / 100
        total += price
        lines.append(f"{ITEMS[(index + row) % len(ITEMS)]} {price:.2f}")
    lines += [f"TOTAL {total:.2f}", "Thank you!"]
    return encode(render_lines(lines, font_size=26))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class Daemon:
    def __init__(self, root: Path, workers: int, threads: int, settle: float = 0.2) -> None:
        self.root = root
        for name in ("inbox", "processed", "failed", "state"):
            (root / name).mkdir(parents=True, exist_ok=True)
        self.args = [sys.executable, "-m", "edgeocr", "watch", "--inbox", str(root / "inbox"),
                     "--processed", str(root / "processed"), "--failed", str(root / "failed"),
                     "--state-dir", str(root / "state"), "--workers", str(workers), "--threads", str(threads),
                     "--set", f"daemon.settle_seconds={settle}", "--set", "daemon.cache_entries=0"]
        self.log = root / "daemon.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Daemon":
        handle = open(self.log, "ab")
        self.process = subprocess.Popen(self.args, cwd=ROOT, stdout=handle, stderr=handle)
        deadline = time.monotonic() + 60
        while "watching" not in self.log.read_text(errors="replace"):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"daemon did not start:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.05)
        return self

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)


def sidecars(root: Path) -> int:
    return sum(1 for _ in (root / "processed").rglob("*.json"))


def drop(root: Path, files: dict[str, bytes]) -> None:
    """Write each file hidden, then rename it in (how a well-behaved producer delivers)."""
    for rel, data in files.items():
        target = root / "inbox" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f".{target.name}.part"
        temp.write_bytes(data)
        os.rename(temp, target)


def throughput(files: dict[str, bytes], workers: int, threads: int, work: Path) -> dict:
    root = work / f"throughput-w{workers}-t{threads}"
    daemon = Daemon(root, workers, threads).start()
    pid = daemon.process.pid
    cpu_before = cpu_seconds(pid)
    started = time.monotonic()
    drop(root, files)
    while sidecars(root) + sum(1 for _ in (root / "failed").rglob("*.error.json")) < len(files):
        time.sleep(0.05)
        if time.monotonic() - started > 1800:
            raise RuntimeError("throughput run did not finish in 30 minutes")
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(pid) - cpu_before
    peak = status_kib(pid, "VmHWM")
    status = daemon.stop()
    return {"workers": workers, "threads": threads, "files": len(files), "seconds": round(elapsed, 2),
            "files_per_minute": round(len(files) / elapsed * 60, 1), "cpu_seconds": round(cpu, 2),
            "peak_rss_mib": round(peak / 1024, 1), "processed": sidecars(root), "exit_status": status}


def idle(seconds: float, work: Path) -> dict:
    root = work / "idle"
    daemon = Daemon(root, workers=1, threads=2, settle=2.0).start()
    pid = daemon.process.pid
    time.sleep(3)  # past start-up
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    cpu = cpu_seconds(pid) - cpu_before
    wall = time.monotonic() - wall_before
    rss = status_kib(pid, "VmRSS")
    threads = int(status_kib(pid, "Threads"))
    daemon.stop()
    return {"seconds": round(wall, 1), "cpu_percent": round(100 * cpu / wall, 3), "rss_mib": round(rss / 1024, 1),
            "threads": threads}


def kill9(files: dict[str, bytes], bad: dict[str, bytes], work: Path) -> dict:
    root = work / "kill9"
    inputs = {**files, **bad}
    daemon = Daemon(root, workers=2, threads=1).start()
    drop(root, inputs)
    target = len(inputs) // 3
    while sidecars(root) < target:
        time.sleep(0.01)
    daemon.kill()
    left_at_kill = sum(1 for p in (root / "inbox").rglob("*") if p.is_file())
    daemon = Daemon(root, workers=2, threads=1).start()
    deadline = time.monotonic() + 1800
    while any(p.is_file() for p in (root / "inbox").rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    daemon.stop()
    processed = {p.relative_to(root / "processed").as_posix() for p in (root / "processed").rglob("*")
                 if p.is_file() and not p.name.endswith(".json")}
    failed = {p.relative_to(root / "failed").as_posix() for p in (root / "failed").rglob("*")
              if p.is_file() and not p.name.endswith(".json")}
    accounted = processed | failed
    # A duplicate shows as a second output for one input: the same name in both folders, or a
    # renamed copy ("name.1.png") that no input had.
    duplicated = len(processed & failed) + len(accounted - set(inputs))
    lost = len(set(inputs) - accounted)
    wrong_place = len(processed & set(bad)) + len(failed & set(files))
    stray = [p.name for p in root.rglob(".*.tmp")]
    return {"inputs": len(inputs), "killed_after_sidecars": target, "left_in_inbox_at_kill": left_at_kill,
            "processed": len(processed), "failed": len(failed), "expected_failed": len(bad), "lost": lost,
            "duplicated": duplicated, "in_wrong_folder": wrong_place, "stray_temp_files": len(stray)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200, help="receipts per throughput run")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    args = parser.parse_args()

    files = {f"r{i % 4}/receipt-{i:04d}.png": receipt(i) for i in range(args.files)}
    bad = {f"bad/not-an-image-{i}.jpg": b"plain text, not a JPEG\n" * (i + 1) for i in range(5)}
    bad["bad/empty.png"] = b""
    bad["bad/truncated.png"] = receipt(99999)[:2000]
    results: dict = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                 "python": platform.python_version(),
                                 "load_average_at_start": os.getloadavg()}}
    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as temp:
        work = Path(temp)
        results["throughput"] = [throughput(files, 1, 1, work), throughput(files, 2, 1, work),
                                 throughput(files, 1, 2, work)]
        results["idle"] = idle(args.idle_seconds, work)
        results["kill9"] = kill9(files, bad, work)
        shutil.rmtree(work, ignore_errors=True)

    print(f"## Daemon (`edgeocr watch`), {args.files} distinct rendered receipts, cache off, settle 0.2 s\n")
    print("| workers | ONNX threads/worker | seconds | files/min | CPU s | peak RSS MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row in results["throughput"]:
        print(f"| {row['workers']} | {row['threads']} | {row['seconds']} | {row['files_per_minute']} | "
              f"{row['cpu_seconds']} | {row['peak_rss_mib']} |")
    idle_row = results["idle"]
    print(f"\nIdle ({idle_row['seconds']} s, empty inbox, inotify): CPU {idle_row['cpu_percent']} %, "
          f"RSS {idle_row['rss_mib']} MiB, {idle_row['threads']} threads\n")
    k = results["kill9"]
    print("| kill -9 run | inputs | processed | failed (expected) | lost | duplicated | wrong folder | stray temps |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| killed after {k['killed_after_sidecars']} sidecars, {k['left_in_inbox_at_kill']} left in inbox | "
          f"{k['inputs']} | {k['processed']} | {k['failed']} ({k['expected_failed']}) | {k['lost']} | "
          f"{k['duplicated']} | {k['in_wrong_folder']} | {k['stray_temp_files']} |")

    written = write_results(ROOT / "bench" / "results", "daemon", results)
    print(f"\nJSON: {written.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
