"""The runner side of the compare protocol: standard library only, so a peer's own venv can run it.

The parent (``bench/compare.py``) starts one runner process per engine and thread count, writes one
JSON job to its stdin and closes it:

    {"threads": 2, "options": {...}, "items": [{"id": "page/000", "path": "/abs/000.jpg",
                                                "kind": "page" | "line", "lang": "eng"}, ...]}

The runner answers with one JSON object per line on stdout, as soon as each is known, so the
parent can time the first answer (cold start) itself:

    {"type": "result", "id": ..., "seconds": 0.12, "lines": [{"text": "...", "box": [x1, y1, x2, y2]}]}
    {"type": "error", "id": ..., "message": "..."}        one item failed or overran; the others go on
    {"type": "fatal", "message": "..."}                   the engine could not start; exit 1
    {"type": "done", "peak_rss_mib": 123.4, "info": {...}}

``item_timeout_s`` in the job bounds each image (SIGALRM in the runner; Python code is interrupted
at once, native code when it returns), so one pathological image costs a failure, not the run.

Libraries love to print: the runner keeps the real stdout for the protocol and points file
descriptor 1 at stderr, so nothing else can corrupt the stream.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
import traceback
from typing import Any, Callable, TextIO

Line = dict  # {"text": str, "box": [x1, y1, x2, y2]}
Reader = Callable[[dict], "list[Line]"]


def claim_stdout() -> TextIO:
    """A private handle on the real stdout; anything else written to fd 1 goes to stderr."""
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol_out


def send(out: TextIO, message: dict) -> None:
    out.write(json.dumps(message, ensure_ascii=False) + "\n")
    out.flush()


def peak_rss_mib(children: bool = False) -> float:
    """Peak RSS of this process (``VmHWM``), or ``ru_maxrss`` of the largest waited-for child.

    Linux carries the forking parent's RSS over into ``ru_maxrss`` across ``exec``: a runner
    started by a 420 MiB ``compare.py`` reported 430 MiB however little it used. ``VmHWM`` belongs
    to the address space that ``exec`` made, so it counts the runner alone; ``ru_maxrss`` is the
    fallback where ``/proc`` is not there.
    """
    if not children:
        try:
            with open("/proc/self/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def box_of(points: Any) -> list[float]:
    """Axis-aligned [x1, y1, x2, y2] around a polygon given as (x, y) pairs."""
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return [min(xs), min(ys), max(xs), max(ys)]


class ItemTimeout(BaseException):
    """Raised in the main thread when one image overruns; a BaseException so no engine swallows it."""


def _time_up(signum, frame) -> None:
    raise ItemTimeout()


def run(start: Callable[[dict], "tuple[Reader, dict]"], rss_of_children: bool = False) -> int:
    """Read the job, start the engine with ``start(job) -> (reader, info)``, answer every item."""
    out = claim_stdout()
    job = json.load(sys.stdin)
    try:
        reader, info = start(job)
    except Exception as exc:  # any failure to start is reported, never a silent exit
        send(out, {"type": "fatal", "message": f"{type(exc).__name__}: {exc}"})
        traceback.print_exc()
        return 1
    limit = float(job.get("item_timeout_s") or 0)
    signal.signal(signal.SIGALRM, _time_up)
    for item in job["items"]:
        started = time.perf_counter()
        try:
            signal.setitimer(signal.ITIMER_REAL, limit)  # 0 disarms: no limit
            lines = reader(item)
        except ItemTimeout:
            send(out, {"type": "error", "id": item["id"], "message": f"gave up after {limit:g} s (item_timeout_s)"})
            continue
        except Exception as exc:  # one bad image must not end the run
            send(out, {"type": "error", "id": item["id"], "message": f"{type(exc).__name__}: {exc}"})
            continue
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        send(out, {"type": "result", "id": item["id"], "seconds": time.perf_counter() - started, "lines": lines})
    # The peak over the pages and lines is the engine's memory figure; the extra timings that
    # ``finish`` runs (16 copies of one line in a batch) are not a workload, so their growth of
    # the process is reported beside it, not in it.
    workload_peak = peak_rss_mib(rss_of_children)
    finish = info.pop("finish", None)
    if callable(finish):
        info.update(finish())
        info["peak_rss_after_finish_mib"] = peak_rss_mib(rss_of_children)
    send(out, {"type": "done", "peak_rss_mib": workload_peak, "info": info})
    return 0
