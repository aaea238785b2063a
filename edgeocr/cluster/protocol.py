"""What the dispatcher and the workers agree on: Redis key names, the job and the answer.

The engine is Redis Streams with one consumer group: ``XADD`` queues a job, ``XREADGROUP`` hands
it to one worker, ``XACK`` retires it, and ``XAUTOCLAIM`` (min-idle = the visibility timeout) gives
a job whose worker died to another one: at-least-once delivery, with no broker, lock or heartbeat
protocol of ours. Exactly-once *outputs* come from the dispatcher's journal, which writes a file's
results once however many answers arrive.

Keys (``P`` = ``cluster.key_prefix``):

- ``P:jobs``            the stream; group ``P:workers``
- ``P:job:ID``          "queued" marker (``SET NX``): a restarted dispatcher does not queue a job twice
- ``P:result:ID``       the answer (JSON), kept ``RESULT_TTL_SECONDS``
- ``P:done:ID``         a list the answer is announced on (the dispatcher waits with ``BLPOP``)
- ``P:errors:ID``       each worker's error on this job, one JSON entry per worker
- ``P:worker:NAME``     a worker's heartbeat: a key with a TTL (Redis expires it when the worker dies)
- ``P:redelivered``     jobs taken over from a worker that stopped answering

A job's ID is a hash of its bytes and options, so the same job asked again (a restarted
dispatcher, a second copy of a page) finds the job or its answer already there.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

RESULT_TTL_SECONDS = 3600
PROTOCOL = 1


class BrokerUnavailable(OSError):
    """The broker cannot be reached; an OSError so the daemon treats it as a transient error."""


@dataclass(frozen=True)
class Keys:
    prefix: str

    @property
    def stream(self) -> str:
        return f"{self.prefix}:jobs"

    @property
    def group(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def redelivered(self) -> str:
        return f"{self.prefix}:redelivered"

    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def result(self, job_id: str) -> str:
        return f"{self.prefix}:result:{job_id}"

    def done(self, job_id: str) -> str:
        return f"{self.prefix}:done:{job_id}"

    def errors(self, job_id: str) -> str:
        return f"{self.prefix}:errors:{job_id}"

    def worker(self, name: str) -> str:
        return f"{self.prefix}:worker:{name}"

    @property
    def worker_pattern(self) -> str:
        return f"{self.prefix}:worker:*"


@dataclass(frozen=True)
class JobMeta:
    """Everything a worker needs besides the file's bytes."""

    id: str
    pack: str
    pack_version: str
    detector: str | None
    beam_width: int | None
    deadline: float  # wall-clock seconds: a worker skips a job its dispatcher stopped waiting for
    max_bytes: int
    protocol: int = PROTOCOL

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode("utf-8")

    @classmethod
    def decode(cls, raw: bytes) -> "JobMeta":
        data = json.loads(raw)
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


def job_id(data: bytes, pack: str, pack_version: str, detector: str | None, beam_width: int | None) -> str:
    digest = hashlib.sha256(data)
    digest.update(json.dumps([pack, pack_version, detector, beam_width]).encode("utf-8"))
    return digest.hexdigest()[:40]


def encode_answer(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=True).encode("ascii")


def decode_answer(raw: bytes) -> dict[str, Any]:
    answer = json.loads(raw)
    if not isinstance(answer, dict):
        raise ValueError("an answer must be a JSON object")
    return answer


def connect(url: str, **options: Any) -> Any:
    """A client for ``url`` (``redis://``, ``rediss://`` with TLS, ``unix://``); bytes in and out."""
    import redis

    options.setdefault("socket_connect_timeout", 5.0)
    options.setdefault("health_check_interval", 30)
    return redis.Redis.from_url(url, **options)


def redacted(url: str) -> str:
    """``url`` without its password, for logs and ``/health``."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0] if ":" in credentials else ""
    return f"{scheme}://{user + ':' if user else ':'}***@{host}"
