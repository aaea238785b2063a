"""The dispatcher (an in-process folder Service with daemon.broker) and in-process workers, on a
real redis-server and the real en-latin-v1 engine: redelivery, pack mismatch, three failing
workers, the size cap, a broker outage, TLS with a password, config errors."""
from __future__ import annotations

import dataclasses
import logging
import subprocess
from pathlib import Path

import pytest

from edgeocr.cluster.dispatcher import metrics_lines
from edgeocr.cluster.protocol import redacted
from edgeocr.cluster.worker import Worker
from edgeocr.config import config_from_dict, with_overrides
from edgeocr.errors import ConfigError
from tests.cluster.conftest import RedisServer, cluster_settings
from tests.daemon.conftest import files_under, read_json, wait_for
from tests.rendering import encode, render_lines


@pytest.fixture
def cluster(tmp_path, latin_engine):
    """``start(broker, **cluster)`` -> an in-process Service sending jobs to ``broker``;
    ``worker(broker, engine)`` -> a started in-process Worker. All stopped at teardown."""
    from edgeocr.daemon.service import Service

    services, workers = [], []

    class Cluster:
        def start(self, broker: str, **cluster_keys):
            config = config_from_dict(cluster_settings(tmp_path, broker, **cluster_keys), "test-config")
            Path(config.daemon.inbox).mkdir(parents=True, exist_ok=True)
            service = Service(config, engine=latin_engine, config_loader=lambda: config)
            service.start()
            assert service.ready.wait(10)
            services.append(service)
            return service

        def worker(self, broker: str, engine=latin_engine, name: str | None = None, **cluster_keys):
            config = config_from_dict(cluster_settings(tmp_path, broker, **cluster_keys), "worker-config")
            worker = Worker(broker, config, engine, threads=1, name=name)
            worker.start()
            worker.beat()
            workers.append(worker)
            return worker

    yield Cluster()
    for worker in workers:
        assert worker.close(10)
    for service in services:
        assert service.stop(timeout=10)


@pytest.fixture
def page() -> bytes:
    return encode(render_lines(["TOTAL 12.20"], font_size=28))


def test_a_job_taken_by_a_worker_that_died_is_redelivered_and_done_once(tmp_path, redis_server, cluster, page):
    service = cluster.start(redis_server.url, visibility_timeout_seconds=1.0)
    (tmp_path / "inbox" / "a.png").write_bytes(page)
    client = redis_server.client()
    assert wait_for(lambda: client.exists("edgeocr:jobs") and client.xlen("edgeocr:jobs") == 1)
    # What a worker killed with -9 right after XREADGROUP leaves: the job pending on a dead consumer.
    client.xgroup_create("edgeocr:jobs", "edgeocr:workers", id="0")
    taken = client.xreadgroup("edgeocr:workers", "ghost/1", {"edgeocr:jobs": ">"}, count=1)
    assert len(taken[0][1]) == 1
    worker = cluster.worker(redis_server.url, visibility_timeout_seconds=1.0)
    # The bound: redelivered within the visibility timeout plus 5 s.
    assert wait_for(lambda: (tmp_path / "processed" / "a.png.json").exists(), timeout=1.0 + 5)
    assert read_json(tmp_path / "processed" / "a.png.json")["text"] == "TOTAL 12.20"
    assert worker.redelivered == 1 and worker.done == 1
    worker.beat()  # the heartbeat `edgeocr worker`'s main loop sends every cluster.heartbeat_seconds
    health = service.health()["cluster"]
    assert health["jobs_redelivered"] == 1 and health["workers_alive"] == 1 and health["broker_up"]
    assert health["jobs_in_flight"] == 0 and health["jobs_queued"] == 0
    assert "edgeocr_cluster_jobs_redelivered 1" in metrics_lines(health)
    assert "edgeocr_workers_alive 1" in metrics_lines(health)
    assert client.xlen("edgeocr:jobs") == 0  # retired and deleted: the bytes leave the broker


def test_a_worker_with_another_pack_version_refuses_with_a_clear_error(tmp_path, redis_server, cluster, page, engine):
    cluster.start(redis_server.url)
    cluster.worker(redis_server.url, engine=engine, name="big-box")  # the default pack, not en-latin-v1
    (tmp_path / "inbox" / "a.png").write_bytes(page)
    report_path = tmp_path / "failed" / "a.png.error.json"
    assert wait_for(lambda: report_path.exists(), timeout=10)
    error = read_json(report_path)["error"]
    assert error["code"] == "pack_mismatch"
    assert f"big-box has pack {engine.pack.name} {engine.pack.version}" in error["message"]
    assert "asked for en-latin-v1 1.0.0" in error["message"]
    assert files_under(tmp_path / "processed") == []


class _BrokenEngine:
    """The real engine returns an error for any bad input and never raises, so a worker whose
    engine breaks (a lost GPU, a corrupt model file) is simulated: the one stand-in of these tests."""

    def __init__(self, real, name: str) -> None:
        self.pack, self.config, self.name = real.pack, real.config, name

    def run_document(self, data, options=None):
        raise RuntimeError(f"model session lost on {self.name}")


def test_a_job_that_fails_on_three_workers_goes_to_failed_with_each_error(tmp_path, redis_server, cluster, page,
                                                                           latin_engine):
    cluster.start(redis_server.url)
    for n in range(3):
        cluster.worker(redis_server.url, engine=_BrokenEngine(latin_engine, f"w{n}"), name=f"w{n}")
    (tmp_path / "inbox" / "a.png").write_bytes(page)
    report_path = tmp_path / "failed" / "a.png.error.json"
    assert wait_for(lambda: report_path.exists(), timeout=15)
    error = read_json(report_path)["error"]
    assert error["code"] == "worker_failed"
    assert error["message"].startswith("failed on 3 workers: ")
    assert error["message"].count("RuntimeError: model session lost on w") == 3
    assert files_under(tmp_path / "inbox") == []


def test_the_worker_caps_the_payload_at_its_own_engine_max_bytes(tmp_path, redis_server, cluster, page):
    from edgeocr.engine import Engine

    small = Engine(config_from_dict({"engine": {"pack": "en-latin-v1", "threads": 1, "max_bytes": 1024}}))
    assert len(page) > 1024
    cluster.start(redis_server.url)
    cluster.worker(redis_server.url, engine=small, name="tiny")
    (tmp_path / "inbox" / "a.png").write_bytes(page)
    assert wait_for(lambda: (tmp_path / "failed" / "a.png.error.json").exists(), timeout=10)
    error = read_json(tmp_path / "failed" / "a.png.error.json")["error"]
    assert error["code"] == "image_too_large" and "worker tiny takes at most 1024" in error["message"]


def test_broker_down_files_wait_health_says_so_and_everything_resumes(tmp_path, redis_server, cluster, page, caplog):
    caplog.set_level(logging.INFO, logger="edgeocr")
    service = cluster.start(redis_server.url)
    cluster.worker(redis_server.url)
    redis_server.stop()
    for n in range(3):
        (tmp_path / "inbox" / f"{n}.png").write_bytes(page)
    assert wait_for(lambda: not service.health()["cluster"]["broker_up"], timeout=10)
    assert wait_for(lambda: "dispatcher: broker" in caplog.text and "unreachable" in caplog.text, timeout=10)
    assert sorted(files_under(tmp_path / "inbox")) == ["0.png", "1.png", "2.png"]  # kept, nothing lost
    redis_server.start()
    assert wait_for(lambda: len(files_under(tmp_path / "processed")) == 6, timeout=40), caplog.text
    assert service.health()["cluster"]["broker_up"]
    dispatcher_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("dispatcher: broker")]
    assert len(dispatcher_lines) == 2, dispatcher_lines  # one line when it went, one when it came back
    assert "reachable again" in dispatcher_lines[1]
    states = [read_json(tmp_path / "processed" / f"{n}.png.json")["attempts"] for n in range(3)]
    assert states == [1, 1, 1]  # waiting out an outage costs no attempt


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """(cert, key): a self-signed certificate for 127.0.0.1."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_rediss_with_a_password(tmp_path, cluster, page):
    server = RedisServer(tmp_path / "tls-redis", tls=_self_signed(tmp_path), password="s3cret").start()
    cert = server.tls[0]
    try:
        url = f"rediss://:s3cret@127.0.0.1:{server.port}/0?ssl_ca_certs={cert}"
        cluster.start(url)
        cluster.worker(url)
        (tmp_path / "inbox" / "a.png").write_bytes(page)
        assert wait_for(lambda: (tmp_path / "processed" / "a.png.json").exists(), timeout=15)
        assert read_json(tmp_path / "processed" / "a.png.json")["text"] == "TOTAL 12.20"
        import redis
        with pytest.raises(redis.AuthenticationError):  # the password is really required
            redis.Redis.from_url(f"rediss://127.0.0.1:{server.port}/0?ssl_ca_certs={cert}").set("x", 1)
    finally:
        server.stop()
    assert redacted(url) == f"rediss://:***@127.0.0.1:{server.port}/0?ssl_ca_certs={cert}"
    assert redacted("redis://ocr:pw@h:1/0") == "redis://ocr:***@h:1/0" and redacted("redis://h:1/0") == "redis://h:1/0"


@pytest.mark.parametrize("value", ["http://localhost:6379", "localhost:6379"])
def test_a_broker_that_is_not_a_redis_url_is_refused_naming_key_and_flag(value):
    with pytest.raises(ConfigError) as caught:
        with_overrides(config_from_dict({}), {"daemon.broker": value}, {"daemon.broker": f"--set daemon.broker={value}"})
    assert caught.value.message.startswith(f"--set daemon.broker={value}: daemon.broker: must be empty")


def test_cluster_keys_are_validated_naming_the_key():
    with pytest.raises(ConfigError, match=r"cluster.visibility_timeout_seconds: must be > 0"):
        config_from_dict({"cluster": {"visibility_timeout_seconds": 0}}, "f.yaml")
    assert dataclasses.asdict(config_from_dict({}).cluster)["max_worker_failures"] == 3


@pytest.mark.parametrize("args, message", [((), "edgeocr worker: no broker; give --broker"),
                                           (("--broker", "http://x"), "--broker: daemon.broker: must be empty")])
def test_worker_without_a_usable_broker_exits_78_saying_why(args, message):
    import sys

    from tests.daemon.conftest import REPO
    done = subprocess.run([sys.executable, "-m", "edgeocr", "worker", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 78 and message in done.stderr, done.stderr


def test_health_and_metrics_over_http_show_the_cluster(tmp_path, redis_server, cluster, page):
    import json
    import threading
    import urllib.request

    from edgeocr.daemon.command import _start_extras

    service = cluster.start(redis_server.url)
    worker = cluster.worker(redis_server.url, name="box-1")
    (tmp_path / "inbox" / "a.png").write_bytes(page)
    assert wait_for(lambda: (tmp_path / "processed" / "a.png.json").exists(), timeout=10)
    worker.beat()
    config = dataclasses.replace(service.config, web=dataclasses.replace(service.config.web, enabled=True, port=0))
    threads, web = _start_extras(service, config, threading.Event())
    try:
        base = f"http://127.0.0.1:{web.port}"
        health = json.loads(urllib.request.urlopen(base + "/health", timeout=10).read())
        metrics = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    finally:
        web.stop()
    assert health["cluster"]["broker"] == redis_server.url and health["cluster"]["broker_up"] is True
    assert health["cluster"]["workers_alive"] == 1 and health["cluster"]["workers"][0]["worker"] == "box-1"
    assert health["cluster"]["workers"][0]["done"] == 1 and health["processed"] == 1
    assert "\nedgeocr_broker_up 1\n" in metrics and "\nedgeocr_workers_alive 1\n" in metrics
    assert "\nedgeocr_cluster_jobs_in_flight 0\n" in metrics
