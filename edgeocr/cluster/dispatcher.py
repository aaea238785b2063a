"""The dispatcher's side: the folder daemon's engine, run on remote workers.

``RemoteEngine`` stands in for the engine inside the daemon's ``Processor``: claim, read, the
journal, sidecars, moves and ``failed/`` stay exactly as with local threads; only
``run_document`` queues the bytes as a job and waits for an answer. Each of ``daemon.workers``
threads has one job in flight, so that key is how many jobs are out at once.

Faults: a broker that cannot be reached is waited out inside ``run_document`` (the file in hand
keeps its journal attempt; ``BrokerGate`` holds new files back in the inbox, one log line per
change); after the job's deadline the file is retried like any transient error. A restarted
dispatcher asks for the same job again (its ID is its content's hash) and finds the job still
queued, or its answer waiting: nothing is run twice if it need not be, nothing written twice ever
(the journal only takes the answer of the file it is working on).
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from typing import Any, Callable

from ..config import Config
from ..engine import OcrOptions
from .protocol import BrokerUnavailable, JobMeta, Keys, connect, decode_answer, job_id, redacted
from .worker import BrokerState

log = logging.getLogger("edgeocr.dispatcher")

WAIT_SLICE_SECONDS = 1  # BLPOP in slices, so a dispatcher stop or a lost job is noticed
REQUEUE_CHECK_SECONDS = 5.0  # how often a waiting job checks that the broker still has it


class RemoteEngine:
    """The engine interface the daemon uses (``pack``, ``config``, ``default_detector``,
    ``run_document``), answered by ``edgeocr worker`` processes through Redis."""

    def __init__(self, config_of: Callable[[], Config], local_of: Callable[[], Any]) -> None:
        self.config_of, self.local_of = config_of, local_of  # read per job: SIGHUP may swap them
        config = config_of()
        self.url = config.daemon.broker
        self.keys = Keys(config.cluster.key_prefix)
        self.client = connect(self.url)
        self.broker = BrokerState("dispatcher", self.url)
        self._next_probe = 0.0
        self._probe_lock = threading.Lock()

    # The daemon reads these of "its engine": the local pack is the one the workers must have.
    @property
    def pack(self) -> Any:
        return self.local_of().pack

    @property
    def config(self) -> Config:
        return self.local_of().config

    @property
    def default_detector(self) -> str:
        return self.local_of().default_detector

    def run_document(self, data: bytes, options: OcrOptions = OcrOptions()) -> dict[str, Any]:
        import redis

        engine = self.local_of()
        cluster = self.config_of().cluster
        pack = engine.pack
        detector = options.detector or engine.default_detector
        beam = options.beam_width if options.beam_width is not None else engine.config.engine.beam_width
        meta = JobMeta(id=job_id(data, pack.name, pack.version, detector, beam), pack=pack.name,
                       pack_version=pack.version, detector=detector, beam_width=beam,
                       deadline=time.time() + cluster.job_timeout_seconds, max_bytes=engine.config.engine.max_bytes)
        keys = self.keys
        check_queued = 0.0
        while True:
            now = time.time()
            if now >= meta.deadline:
                raise BrokerUnavailable(f"no worker answered job {meta.id[:12]} within {cluster.job_timeout_seconds:g} s "
                                        "(cluster.job_timeout_seconds); are any workers running?")
            try:
                if now >= check_queued:
                    raw = self._queue(meta, data, math.ceil(cluster.job_timeout_seconds))
                    check_queued = now + REQUEUE_CHECK_SECONDS
                    if raw is not None:  # answered already (a restarted dispatcher, a twin file)
                        self.broker.ok()
                        return self._finish(meta, raw)
                popped = self.client.blpop([keys.done(meta.id)], timeout=WAIT_SLICE_SECONDS)
                self.broker.ok()
                if popped is not None:
                    return self._finish(meta, popped[1])
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                check_queued = 0.0  # a broker restarted without its data has lost the job: queue it again
                time.sleep(min(self.broker.failed(exc), max(0.0, meta.deadline - time.time())))

    def _queue(self, meta: JobMeta, data: bytes, ttl: int) -> bytes | None:
        """The answer if there is one; else queue the job unless the broker has it already."""
        keys = self.keys
        pipe = self.client.pipeline(transaction=False)
        pipe.get(keys.result(meta.id))
        pipe.exists(keys.job(meta.id))
        answer, queued = pipe.execute()
        if answer is not None or queued:
            return answer
        pipe = self.client.pipeline(transaction=True)  # both or neither: no marker without its job
        pipe.xadd(keys.stream, {b"meta": meta.encode(), b"data": data})
        pipe.set(keys.job(meta.id), b"1", ex=ttl)
        pipe.execute()
        return None

    def _finish(self, meta: JobMeta, raw: bytes) -> dict[str, Any]:
        try:
            answer = decode_answer(raw)
            result = answer["result"]
            if not isinstance(result, dict):
                raise ValueError("the result is not an object")
        except (ValueError, KeyError) as exc:
            raise BrokerUnavailable(f"job {meta.id[:12]}: unreadable answer ({exc})") from None
        try:  # taken: a later copy of this page is a new job (the broker is no cache)
            self.client.delete(self.keys.result(meta.id), self.keys.done(meta.id), self.keys.job(meta.id))
        except Exception:
            pass
        log.debug("job %s answered by %s", meta.id[:12], answer.get("worker"))
        return result

    # -- the gate the folder service asks before it claims a file ----------------------------------

    def blocked(self) -> bool:
        """True while the broker is down; probes it (one PING) at the backoff's pace."""
        if self.broker.up:
            return False
        now = time.monotonic()
        with self._probe_lock:
            if now < self._next_probe:
                return True
            try:
                self.client.ping()
            except Exception as exc:
                self._next_probe = now + self.broker.failed(exc)
                return True
        self.broker.ok()
        return False

    def health(self) -> dict[str, Any]:
        """Workers alive, jobs queued, in flight and redelivered (what ``/health`` and ``/metrics`` show)."""
        keys = self.keys
        status: dict[str, Any] = {"broker": redacted(self.url), "broker_up": self.broker.up}
        try:
            workers = []
            for key in self.client.scan_iter(match=keys.worker_pattern, count=100):
                raw = self.client.get(key)
                if raw is not None:
                    workers.append(json.loads(raw))
            queued = in_flight = 0
            try:
                for group in self.client.xinfo_groups(keys.stream):
                    if _text(group.get("name")) == keys.group:
                        queued, in_flight = int(group.get("lag") or 0), int(group.get("pending") or 0)
            except redis_response_error():
                pass  # no stream yet: nothing was ever queued
            status.update(workers_alive=len(workers), jobs_queued=queued, jobs_in_flight=in_flight,
                          jobs_redelivered=int(self.client.get(keys.redelivered) or 0),
                          workers=sorted(workers, key=lambda w: str(w.get("worker"))))
            self.broker.ok()
        except Exception as exc:
            if not isinstance(exc, redis_errors()):
                raise
            self.broker.failed(exc)
            status.update(broker_up=False, broker_error=str(exc))
        return status


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def redis_errors() -> tuple[type[Exception], ...]:
    import redis

    return (redis.ConnectionError, redis.TimeoutError)


def redis_response_error() -> type[Exception]:
    import redis

    return redis.ResponseError


def metrics_lines(status: dict[str, Any]) -> list[str]:
    """The cluster gauges in Prometheus text format."""
    out = []
    for name, key, help_text in (("edgeocr_broker_up", "broker_up", "1 while the dispatcher reaches its broker."),
                                 ("edgeocr_workers_alive", "workers_alive", "Workers whose heartbeat is current."),
                                 ("edgeocr_cluster_jobs_queued", "jobs_queued", "Jobs no worker has taken yet."),
                                 ("edgeocr_cluster_jobs_in_flight", "jobs_in_flight", "Jobs a worker holds now."),
                                 ("edgeocr_cluster_jobs_redelivered", "jobs_redelivered",
                                  "Jobs taken over from a worker that stopped answering.")):
        if key in status:
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {int(status[key])}"]
    return out
