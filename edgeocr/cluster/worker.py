"""``edgeocr worker``: take OCR jobs from the Redis stream, run the engine, answer.

N threads share one engine; each reads with ``XREADGROUP`` (its own consumer name) and first
takes over, with ``XAUTOCLAIM``, any job another worker left unanswered for the visibility timeout
(killed with -9, its machine unplugged). While a job is in hand the main thread re-claims it
(``XCLAIM ... JUSTID``, which resets its idle time), so a slow job is not taken away from a live
worker. The heartbeat is a key with a TTL that Redis itself expires when the worker is gone.
SIGTERM/SIGINT: stop reading, finish the jobs in hand, exit 0. A broker that goes away is retried
with backoff, one log line when it goes and one when it is back; the redis client reconnects.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from typing import Any

from ..config import Config
from ..errors import ConfigError
from ..engine import OcrOptions
from ..result import error_dict
from .protocol import RESULT_TTL_SECONDS, JobMeta, Keys, connect, decode_answer, encode_answer, redacted

log = logging.getLogger("edgeocr.worker")

READ_BLOCK_MS = 2000  # an idle thread asks the broker once per this long (about 0 % CPU)
STATUS_LOG_SECONDS = 60.0


class BrokerState:
    """Up or down, with one log line per change and an exponential backoff while down."""

    def __init__(self, who: str, url: str, max_backoff: float = 30.0) -> None:
        self.who, self.url, self.max_backoff = who, redacted(url), max_backoff
        self._lock = threading.Lock()
        self.failures = 0
        self.down_since = 0.0

    @property
    def up(self) -> bool:
        return self.failures == 0

    def failed(self, exc: Exception) -> float:
        """Record a failed broker call; returns how long to wait before the next one."""
        with self._lock:
            self.failures += 1
            first = self.failures == 1
            if first:
                self.down_since = time.monotonic()
            delay = min(self.max_backoff, 0.5 * 2 ** min(self.failures - 1, 16))
        if first:
            log.error("%s: broker %s unreachable (%s); retrying with backoff up to %.0f s", self.who, self.url,
                      exc, self.max_backoff)
        return delay

    def ok(self) -> None:
        if not self.failures:
            return
        with self._lock:
            if not self.failures:
                return
            self.failures, down = 0, time.monotonic() - self.down_since
        log.warning("%s: broker %s reachable again after %.1f s", self.who, self.url, down)


def _is_nogroup(exc: Exception) -> bool:
    return "NOGROUP" in str(exc)


class Worker:
    def __init__(self, url: str, config: Config, engine: Any, threads: int = 1, name: str | None = None) -> None:
        self.url, self.config, self.engine, self.threads = url, config, engine, threads
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.keys = Keys(config.cluster.key_prefix)
        self.client = connect(url)
        self.broker = BrokerState(f"worker {self.name}", url)
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.in_hand: dict[str, str] = {}  # message id -> consumer name
        self.done = self.failed = self.redelivered = 0
        self._group_ready = False
        self._threads = [threading.Thread(target=self._loop, args=(f"{self.name}/{i + 1}",),
                                          name=f"edgeocr-job-{i + 1}", daemon=True) for i in range(threads)]

    # -- the job threads ---------------------------------------------------------------------------

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.keys.stream, self.keys.group, id="0", mkstream=True)
        except Exception as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _next(self, consumer: str) -> tuple[str, dict[bytes, bytes]] | None:
        keys = self.keys
        visibility_ms = int(self.config.cluster.visibility_timeout_seconds * 1000)
        claimed = self.client.xautoclaim(keys.stream, keys.group, consumer, visibility_ms, "0-0", count=1)
        for message_id, fields in claimed[1]:
            if fields:  # a job deleted under the claim comes back empty: nothing to do
                self.client.incr(keys.redelivered)
                with self._lock:
                    self.redelivered += 1
                log.warning("took over job %s, unanswered for %.0f s by another worker", _text(message_id),
                            self.config.cluster.visibility_timeout_seconds)
                return _text(message_id), fields
        read = self.client.xreadgroup(keys.group, consumer, {keys.stream: ">"}, count=1, block=READ_BLOCK_MS)
        for _stream, messages in read or []:
            for message_id, fields in messages:
                if fields:
                    return _text(message_id), fields
                self.client.xack(keys.stream, keys.group, message_id)
        return None

    def _loop(self, consumer: str) -> None:
        import redis

        while not self.stop.is_set():
            try:
                self._ensure_group()
                job = self._next(consumer)
                self.broker.ok()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if self.stop.is_set():
                    break
                self._group_ready = False  # a broker restarted without its data has no group
                self.stop.wait(self.broker.failed(exc))
                continue
            except redis.ResponseError as exc:
                if _is_nogroup(exc):
                    self._group_ready = False
                    continue
                log.exception("broker refused a request; retrying")
                self.stop.wait(1.0)
                continue
            except Exception:
                if self.stop.is_set():
                    break  # close() cut the connection this thread was blocked on
                log.exception("unexpected error reading a job; retrying")
                self.stop.wait(1.0)
                continue
            if job is None:
                continue
            message_id, fields = job
            with self._lock:
                self.in_hand[message_id] = consumer
            try:
                self._handle(message_id, fields)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                # The answer is lost; the job is still pending and goes to a worker again.
                self.stop.wait(self.broker.failed(exc))
            except Exception:
                log.exception("job %s: unexpected error; it stays pending for redelivery", message_id)
            finally:
                with self._lock:
                    self.in_hand.pop(message_id, None)

    def _handle(self, message_id: str, fields: dict[bytes, bytes]) -> None:
        try:
            meta = JobMeta.decode(fields[b"meta"])
            data = fields[b"data"]
        except (KeyError, ValueError, TypeError) as exc:
            log.error("job %s is not an edgeocr job (%s); dropped", message_id, exc)
            self._retire(message_id)
            return
        if time.time() > meta.deadline:
            log.info("job %s: its deadline passed before it was taken; the dispatcher retries it", meta.id[:12])
            self._retire(message_id)
            return
        limit = min(meta.max_bytes, self.engine.config.engine.max_bytes)
        pack = self.engine.pack
        if len(data) > limit:
            result = error_dict("image_too_large", f"the job is {len(data)} bytes; worker {self.name} takes at "
                                f"most {limit} (engine.max_bytes)")
        elif (meta.pack, meta.pack_version) != (pack.name, pack.version):
            result = error_dict("pack_mismatch", f"worker {self.name} has pack {pack.name} {pack.version}; the "
                                f"dispatcher asked for {meta.pack} {meta.pack_version} (start the worker with "
                                f"--pack {meta.pack}, or install that version)")
        else:
            try:
                result = self.engine.run_document(data, OcrOptions(detector=meta.detector, beam_width=meta.beam_width))
            except Exception as exc:
                log.exception("job %s failed on this worker", meta.id[:12])
                self._worker_error(message_id, meta, data, exc)
                return
        self._answer(message_id, meta, result)

    def _answer(self, message_id: str, meta: JobMeta, result: dict[str, Any]) -> None:
        keys = self.keys
        answer = {"worker": self.name, "result": result}
        pipe = self.client.pipeline(transaction=True)
        pipe.set(keys.result(meta.id), encode_answer(answer), ex=RESULT_TTL_SECONDS)
        pipe.rpush(keys.done(meta.id), encode_answer(answer))  # what the waiting dispatcher's BLPOP returns
        pipe.expire(keys.done(meta.id), RESULT_TTL_SECONDS)
        pipe.xack(keys.stream, keys.group, message_id)
        pipe.xdel(keys.stream, message_id)  # the bytes of a finished job leave the broker's memory
        pipe.execute()
        with self._lock:
            if result.get("success"):
                self.done += 1
            else:
                self.failed += 1
        log.info("job %s answered (%s)", meta.id[:12], "ok" if result.get("success") else
                 result.get("error", {}).get("code"))

    def _worker_error(self, message_id: str, meta: JobMeta, data: bytes, exc: Exception) -> None:
        """This worker could not run the job: record why; queue it again for another worker, or,
        after ``cluster.max_worker_failures`` workers failed, answer with each worker's error."""
        keys = self.keys
        entry = json.dumps({"worker": self.name, "error": f"{type(exc).__name__}: {exc}"}).encode("utf-8")
        pipe = self.client.pipeline(transaction=True)
        pipe.rpush(keys.errors(meta.id), entry)
        pipe.expire(keys.errors(meta.id), RESULT_TTL_SECONDS)
        pipe.lrange(keys.errors(meta.id), 0, -1)
        errors = [json.loads(raw) for raw in pipe.execute()[2]]
        if len(errors) >= self.config.cluster.max_worker_failures:
            message = f"failed on {len(errors)} workers: " + "; ".join(f"{e['worker']}: {e['error']}" for e in errors)
            result = error_dict("worker_failed", message)
            result["worker_errors"] = errors
            self._answer(message_id, meta, result)
            return
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(keys.stream, {b"meta": meta.encode(), b"data": data})
        pipe.xack(keys.stream, keys.group, message_id)
        pipe.xdel(keys.stream, message_id)
        pipe.execute()

    def _retire(self, message_id: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(self.keys.stream, self.keys.group, message_id)
        pipe.xdel(self.keys.stream, message_id)
        pipe.execute()

    # -- the main thread: heartbeat, keeping jobs in hand, status ----------------------------------

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"worker": self.name, "threads": self.threads, "busy": len(self.in_hand), "done": self.done,
                    "failed": self.failed, "redelivered": self.redelivered, "pack": self.engine.pack.name,
                    "pack_version": self.engine.pack.version, "broker_up": self.broker.up, "pid": os.getpid()}

    def beat(self) -> None:
        """Heartbeat and re-claim of the jobs in hand (both cheap; errors are the job threads' to report)."""
        import redis

        cluster = self.config.cluster
        try:
            self.client.set(self.keys.worker(self.name), json.dumps(self.status()).encode("utf-8"),
                            px=int(cluster.heartbeat_seconds * 3000))
            with self._lock:
                held = list(self.in_hand.items())
            for message_id, consumer in held:
                self.client.xclaim(self.keys.stream, self.keys.group, consumer, 0, [message_id], justid=True)
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            pass

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def close(self, timeout: float = 60.0) -> bool:
        """Stop taking jobs, finish those in hand; True if every thread ended in time."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        while self.in_hand and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            # Wakes the threads blocked in XREADGROUP now rather than at the end of READ_BLOCK_MS.
            self.client.connection_pool.disconnect()
        except Exception:
            pass
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        try:
            self.client.delete(self.keys.worker(self.name))  # reconnects once for this
        except Exception:
            pass  # the key expires by itself
        return not any(thread.is_alive() for thread in self._threads)

    def serve(self, stop_flag: "list[bool]") -> None:
        """Heartbeats until ``stop_flag[0]`` (set by a signal handler) turns true."""
        cluster = self.config.cluster
        every = min(cluster.heartbeat_seconds, cluster.visibility_timeout_seconds / 3)
        next_beat = next_status = 0.0
        last_status: dict[str, Any] = {}
        while not stop_flag[0]:
            now = time.monotonic()
            if now >= next_beat:
                self.beat()
                next_beat = now + every
            if now >= next_status:
                status = self.status()
                if status != last_status:  # an idle worker does not fill the log
                    log.info("status: %s", " ".join(f"{k}={v}" for k, v in status.items()))
                    last_status = status
                next_status = now + STATUS_LOG_SECONDS
            time.sleep(0.25)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def main(args: Any, load: Any) -> int:
    """``edgeocr worker``: returns 0 after SIGTERM/SIGINT once the jobs in hand are finished."""
    from ..daemon.command import setup_logging
    from ..engine import Engine

    setup_logging()
    # --broker is validated as daemon.broker is (a redis://, rediss:// or unix:// URL), naming the flag.
    config = load(args, extra={"daemon.broker": args.broker}, flags={"daemon.broker": "--broker"})
    broker = config.daemon.broker
    if not broker:
        raise ConfigError("edgeocr worker: no broker; give --broker redis://HOST:PORT/DB or set daemon.broker")
    if not 1 <= args.job_threads <= 64:
        raise ConfigError(f"--threads: must be between 1 and 64, got {args.job_threads}")
    stop_flag = [False]

    def on_signal(signum: int, frame: Any) -> None:
        stop_flag[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    engine = Engine(config, *config.engine.variants())
    worker = Worker(broker, config, engine, threads=args.job_threads)
    worker.start()
    from ..daemon.command import _sdnotify
    notify, _ = _sdnotify()
    notify("READY=1")
    log.info("worker %s ready: pack %s %s, %d thread(s), broker %s", worker.name, engine.pack.name,
             engine.pack.version, args.job_threads, redacted(broker))
    try:
        worker.serve(stop_flag)
    finally:
        notify("STOPPING=1")
        log.info("stopping: finishing the job(s) in hand")
        clean = worker.close()
    log.info("stopped" if clean else "stopped with a job unfinished; it goes to another worker")
    return 0
