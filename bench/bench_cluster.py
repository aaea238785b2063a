"""Cluster benchmark: files per minute through Redis with 1, 2 and 3 ``edgeocr worker``s against
local worker threads in the same run, the dispatch overhead per file, idle CPU of both sides.

    python3 bench/bench_cluster.py                      # 150 receipts per run, en-latin-v1, ~3 minutes
    python3 bench/bench_cluster.py --files 30 --idle-seconds 5   # smoke run
    python3 bench/bench_cluster.py --pack ppocrv6-small          # the default pack (slower per file)

Everything is real: a redis-server on a loopback port, ``python -m edgeocr watch`` with
``daemon.broker`` as the dispatcher, ``python -m edgeocr worker`` processes, every engine at
``engine.threads=1``. Receipts are distinct (the result caches never answer). On a machine with
fewer cores than workers the scaling is capped by the cores, not by the dispatch: the overhead per
file is the number that carries to a real fleet of machines. It is measured twice: end to end
(one dispatcher thread, one worker whose engine returns at once, so only queueing, the bytes'
trip and the answer's are timed) and as the extra seconds per file of one remote worker over one
local thread.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_daemon import Daemon, cpu_seconds, drop, receipt, sidecars  # noqa: E402
from bench.results_io import write_results  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


def start_worker(log: Path, broker: str, pack: str) -> subprocess.Popen:
    handle = open(log, "ab")
    process = subprocess.Popen([sys.executable, "-m", "edgeocr", "worker", "--broker", broker, "--pack", pack,
                                "--set", "engine.threads=1"], cwd=ROOT, stdout=handle, stderr=handle)
    deadline = time.monotonic() + 120
    while "ready" not in log.read_text(errors="replace"):
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"worker did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)
    return process


def stop(process: subprocess.Popen) -> int:
    process.terminate()
    return process.wait(60)


def dispatcher(root: Path, pack: str, in_flight: int, broker: str | None) -> Daemon:
    daemon = Daemon(root, workers=in_flight, threads=1)
    daemon.args += ["--pack", pack]
    if broker:
        daemon.args += ["--set", f"daemon.broker={broker}"]
    return daemon


def run(files: dict[str, bytes], work: Path, pack: str, broker: str | None, workers: int) -> dict:
    label = f"cluster-{workers}" if broker else f"local-{workers}"
    root = work / label
    worker_processes = [start_worker(work / f"{label}-worker-{n}.log", broker, pack)
                        for n in range(workers)] if broker else []
    # Remote: 2 jobs in flight per worker keeps each one busy while an answer travels back.
    daemon = dispatcher(root, pack, 2 * workers if broker else workers, broker).start()
    started = time.monotonic()
    drop(root, files)
    while sidecars(root) + sum(1 for _ in (root / "failed").rglob("*.error.json")) < len(files):
        time.sleep(0.05)
        if time.monotonic() - started > 1800:
            raise RuntimeError(f"{label} did not finish in 30 minutes")
    elapsed = time.monotonic() - started
    status = daemon.stop()
    codes = [stop(process) for process in worker_processes]
    return {"run": label, "workers": workers, "remote": bool(broker), "files": len(files), "seconds": round(elapsed, 2),
            "files_per_minute": round(len(files) / elapsed * 60, 1), "processed": sidecars(root),
            "exit_status": [status, *codes]}


def overhead(files: dict[str, bytes], broker: str, jobs: int) -> dict:
    """Dispatch round trip per file with an engine that answers at once (the bytes still travel)."""
    from edgeocr.cluster.dispatcher import RemoteEngine
    from edgeocr.cluster.worker import Worker
    from edgeocr.config import config_from_dict

    config = config_from_dict({"daemon": {"broker": broker}, "cluster": {"heartbeat_seconds": 1.0}})

    class Instant:  # stands in for the engine: only the dispatch is timed here
        pack = type("Pack", (), {"name": "bench", "version": "1"})()
        default_detector = "classical"

        def __init__(self) -> None:
            self.config = config

        def run_document(self, data, options=None):
            return {"success": True, "text": "", "text_lines": []}

    engine = Instant()
    worker = Worker(broker, config, engine, threads=1, name="bench-overhead")
    worker.start()
    remote = RemoteEngine(lambda: config, lambda: engine)
    payloads = list(files.values())
    times = []
    try:
        for index in range(jobs):
            data = payloads[index % len(payloads)] + index.to_bytes(4, "big")  # distinct: no answer reused
            began = time.perf_counter()
            remote.run_document(data)
            times.append(time.perf_counter() - began)
    finally:
        worker.close(10)
    size = statistics.mean(len(p) for p in payloads)
    return {"jobs": jobs, "mean_ms": round(1000 * statistics.mean(times), 2),
            "median_ms": round(1000 * statistics.median(times), 2),
            "p95_ms": round(1000 * sorted(times)[int(0.95 * len(times)) - 1], 2), "payload_bytes_mean": round(size)}


def idle(work: Path, pack: str, broker: str, seconds: float) -> dict:
    worker = start_worker(work / "idle-worker.log", broker, pack)
    daemon = dispatcher(work / "idle", pack, 2, broker).start()
    time.sleep(3)  # past start-up
    pids = {"dispatcher": daemon.process.pid, "worker": worker.pid}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    wall = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - wall
    result = {f"{name}_cpu_percent": round(100 * (cpu_seconds(pid) - before[name]) / wall, 3)
              for name, pid in pids.items()}
    daemon.stop()
    stop(worker)
    return {"seconds": round(wall, 1), **result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=150, help="receipts per throughput run")
    parser.add_argument("--pack", default="en-latin-v1")
    parser.add_argument("--overhead-jobs", type=int, default=300)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is missing (apt-get install redis-server)")

    files = {f"r{i % 4}/receipt-{i:04d}.png": receipt(i) for i in range(args.files)}
    results: dict = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "pack": args.pack,
                     "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                 "python": platform.python_version(), "load_average_at_start": os.getloadavg()}}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as temp:
        work = Path(temp)
        server, broker = start_redis(work / "redis")
        try:
            results["overhead"] = overhead(files, broker, args.overhead_jobs)
            rows = [run(files, work, args.pack, None, 1), run(files, work, args.pack, None, 2)]
            rows += [run(files, work, args.pack, broker, n) for n in (1, 2, 3)]
            results["throughput"] = rows
            results["idle"] = idle(work, args.pack, broker, args.idle_seconds)
        finally:
            server.kill()
            server.wait(10)

    by_run = {row["run"]: row for row in results["throughput"]}
    one_local, one_remote = by_run["local-1"], by_run["cluster-1"]
    results["remote_extra_ms_per_file"] = round(1000 * (one_remote["seconds"] - one_local["seconds"]) / args.files, 2)
    lines = [f"## Cluster (Redis Streams), {args.files} distinct rendered receipts, pack {args.pack}, "
             f"engine.threads=1, {os.cpu_count()} CPUs\n",
             "| run | workers | seconds | files/min | vs 1 of its kind |", "|---|---:|---:|---:|---:|"]
    for row in results["throughput"]:
        base = by_run["cluster-1" if row["remote"] else "local-1"]
        lines.append(f"| {row['run']} | {row['workers']} | {row['seconds']} | {row['files_per_minute']} | "
                     f"{row['files_per_minute'] / base['files_per_minute']:.2f}x |")
    o = results["overhead"]
    lines.append(f"\nDispatch round trip (engine answers at once, {o['payload_bytes_mean']} B payloads, {o['jobs']} jobs):"
                 f" mean {o['mean_ms']} ms, median {o['median_ms']} ms, p95 {o['p95_ms']} ms per file")
    lines.append(f"One remote worker over one local thread: {results['remote_extra_ms_per_file']} ms per file")
    i = results["idle"]
    lines.append(f"Idle {i['seconds']} s: dispatcher {i['dispatcher_cpu_percent']} % CPU, "
                 f"worker {i['worker_cpu_percent']} % CPU")
    if (os.cpu_count() or 1) < 3:
        lines.append(f"\nOnly {os.cpu_count()} CPUs: workers beyond that share the cores, so the scaling here is "
                     "capped by the machine, not by the dispatch.")
    table = "\n".join(lines)
    print(table)
    written = write_results(ROOT / "bench" / "results", "cluster", results, table)
    print(f"\nJSON: {written.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
