"""Web API load benchmark: 20 concurrent clients posting a rendered receipt to POST /ocr on loopback.

    python3 bench/bench_web.py                  # 1,000 requests under load, about 2 minutes on 2 cores
    python3 bench/bench_web.py --requests 100   # smoke run

The server is a real ``edgeocr serve`` subprocess (so its RSS is its own) at ``engine.threads=2``
with the result cache off (``web.cache_entries=0``), so every request really runs the engine; the
queue settings are the shipped defaults. Clients honour ``Retry-After`` on a 503, as a well-behaved
client would. The baseline, one client at a time, runs against the same server in the same run.
Traffic goes to 127.0.0.1 only and is bounded in count and time.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tests.rendering import encode, render_lines  # noqa: E402
from bench.results_io import write_results  # noqa: E402

RECEIPT = [
    "CORNER CAFE & BAKERY", "12 Market Street, Springfield", "Tel: (555) 010-2233",
    "Date: 2024-03-15 09:42", "Invoice No. INV0012345", "Latte 2 x 4.50 9.00", "Croissant 3.20",
    "Orange juice 2.80", "Subtotal 15.00", "VAT 20% 3.00", "TOTAL 18.00", "Thank you for your visit!",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def post(connection: http.client.HTTPConnection, body: bytes) -> tuple[int, dict, bytes]:
    connection.request("POST", "/ocr", body=body, headers={"Content-Type": "image/png"})
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


class Load:
    """Shared counters of one phase; ``target`` successful requests end it (or ``deadline``)."""

    def __init__(self, target: int, deadline: float, pid: int, rss_at: int) -> None:
        self.lock = threading.Lock()
        self.target, self.deadline, self.pid, self.rss_at = target, deadline, pid, rss_at
        self.latencies: list[float] = []
        self.busy = 0
        self.other: dict[str, int] = {}
        self.rss_early: float | None = None
        self.lines_read: set[int] = set()

    def done(self) -> bool:
        return len(self.latencies) >= self.target or time.monotonic() > self.deadline

    def client(self, port: int, body: bytes) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            while not self.done():
                started = time.perf_counter()
                try:
                    status, headers, payload = post(connection, body)
                except (OSError, http.client.HTTPException) as exc:
                    with self.lock:
                        self.other[type(exc).__name__] = self.other.get(type(exc).__name__, 0) + 1
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    continue
                elapsed = time.perf_counter() - started
                if status == 503:
                    with self.lock:
                        self.busy += 1
                    time.sleep(float(headers.get("Retry-After", "1")))
                    continue
                with self.lock:
                    if status != 200:
                        self.other[str(status)] = self.other.get(str(status), 0) + 1
                        continue
                    self.latencies.append(elapsed)
                    self.lines_read.add(len(json.loads(payload)["text_lines"]))
                    if len(self.latencies) == self.rss_at:
                        self.rss_early = rss_mib(self.pid)
        finally:
            connection.close()


def run_phase(port: int, pid: int, body: bytes, clients: int, requests: int, max_seconds: float) -> dict:
    load = Load(requests, time.monotonic() + max_seconds, pid, rss_at=10)
    threads = [threading.Thread(target=load.client, args=(port, body)) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ms = np.array(load.latencies) * 1000
    return {"clients": clients, "ok": len(load.latencies), "busy_503": load.busy, "other": load.other,
            "seconds": round(wall, 2), "requests_per_s": round(len(load.latencies) / wall, 2),
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "rss_after_10_mib": load.rss_early, "rss_after_all_mib": rss_mib(pid),
            "lines_per_answer": sorted(load.lines_read)}


def report(results: dict) -> str:
    out = [f"edgeocr web on {results['machine']} ({results['cores']} cores), engine.threads=2, cache off, "
           f"server defaults: {results['web']}", "",
           "| clients | OK requests | 503s | other | req/s | p50 ms | p99 ms | wall s |",
           "|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in (results["baseline"], results["load"]):
        out.append(f"| {r['clients']} | {r['ok']} | {r['busy_503']} | {r['other'] or '-'} | {r['requests_per_s']} | "
                   f"{r['p50_ms']} | {r['p99_ms']} | {r['seconds']} |")
    load = results["load"]
    out += ["", "| server RSS | MiB |", "|---|---:|",
            f"| idle, after start | {results['rss_idle_mib']:.1f} |",
            f"| after 10 requests under load | {load['rss_after_10_mib']:.1f} |",
            f"| after {load['ok']} requests under load | {load['rss_after_all_mib']:.1f} |"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000, help="successful requests in the load phase")
    parser.add_argument("--baseline-requests", type=int, default=30, help="one client, one request at a time")
    parser.add_argument("--max-seconds", type=float, default=400, help="cap on each phase")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)

    body = encode(render_lines(RECEIPT, font_size=28))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "edgeocr", "serve", "--port", str(port), "--threads", "2",
                               "--set", "web.cache_entries=0"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise SystemExit(f"edgeocr serve exited: {server.stderr.read().decode()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/health")
                health = json.loads(connection.getresponse().read())
                connection.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("edgeocr serve did not start within 120 s") from None
                time.sleep(0.2)
        time.sleep(1.0)
        results = {"machine": platform.processor() or platform.machine(), "cores": len(os.sched_getaffinity(0)),
                   "image_bytes": len(body), "receipt_lines": len(RECEIPT),
                   "web": {"jobs": health["queue"]["max_running"], "queue_size": health["queue"]["max_waiting"]},
                   "rss_idle_mib": rss_mib(server.pid)}
        results["load"] = run_phase(port, server.pid, body, args.clients, args.requests, args.max_seconds)
        results["baseline"] = run_phase(port, server.pid, body, 1, args.baseline_requests, args.max_seconds)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    results["server_exit_code"] = server.returncode
    table = report(results)
    print(table)
    write_results(args.out, "bench_web", results, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
