"""The server under pressure: queue overflow, slow clients, chunked bodies, shutdown."""
from __future__ import annotations

import json
import socket
import threading
import time

import requests

from tests.rendering import encode, render_lines
from tests.web.conftest import running, url


def raw_request(port: int, head: bytes, body_parts: list[bytes] = (), pause: float = 0.0, timeout: float = 30) -> tuple[int, dict, bytes]:
    """Send a request byte by byte as given (no client library smoothing it), return (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        for part in body_parts:
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered (413) and closed before we finished; read the answer
            time.sleep(pause)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                header_blob, _, rest = data.partition(b"\r\n\r\n")
                headers = dict(line.split(": ", 1) for line in header_blob.decode().split("\r\n")[1:])
                length = int(headers.get("Content-Length", -1))
                if length >= 0 and len(rest) >= length:
                    break
    header_blob, _, body = data.partition(b"\r\n\r\n")
    lines = header_blob.decode().split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_413_from_content_length_before_the_body_is_sent(engine):
    with running(engine, max_body_bytes=100_000) as server:
        # Claims a gigabyte and sends nothing: the answer must come from the header alone.
        status, headers, body = raw_request(server.port, b"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                                                         b"Content-Length: 1000000000\r\n\r\n", timeout=10)
        assert status == 413
        assert headers["content-type"].startswith("application/json")
        assert json.loads(body)["error"]["code"] == "body_too_large"


def test_413_for_a_chunked_body_without_a_length(engine):
    with running(engine, max_body_bytes=100_000) as server:
        chunk = b"a" * 30_000
        parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 5 + [b"0\r\n\r\n"]
        status, headers, body = raw_request(server.port, b"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                                                         b"Transfer-Encoding: chunked\r\n\r\n", parts)
        assert status == 413
        assert json.loads(body)["error"]["code"] == "body_too_large"
        assert requests.get(url(server, "/health"), timeout=10).status_code == 200


def test_chunked_body_under_the_limit_is_read(server):
    data = encode(render_lines(["CHUNKED 2024"]))
    parts = [b"%x\r\n%s\r\n" % (len(data[i:i + 1000]), data[i:i + 1000]) for i in range(0, len(data), 1000)]
    status, _, body = raw_request(server.port, b"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                                               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                                  parts + [b"0\r\n\r\n"])
    assert status == 200, body
    assert json.loads(body)["text"] == "CHUNKED 2024"


def test_a_slow_client_does_not_block_others(server):
    data = encode(render_lines(["SLOW CLIENT 9"]))
    head = (b"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(data))
    outcome = {}

    def trickle():  # most of the body at once, then the last 20 bytes one every 0.1 s (about 2 s)
        parts = [data[:-20]] + [data[i:i + 1] for i in range(len(data) - 20, len(data))]
        outcome["answer"] = raw_request(server.port, head, parts, pause=0.1)

    slow = threading.Thread(target=trickle)
    slow.start()
    try:
        time.sleep(0.3)
        started = time.monotonic()
        assert requests.get(url(server, "/health"), timeout=10).status_code == 200
        fast = requests.post(url(server, "/ocr"), data=encode(render_lines(["FAST ONE 1"])),
                             headers={"Content-Type": "image/png"}, timeout=30)
        assert fast.status_code == 200 and fast.json()["text"] == "FAST ONE 1"
        assert time.monotonic() - started < 1.5  # served while the slow body is still trickling in
        assert slow.is_alive()
    finally:
        slow.join(timeout=30)
    status, _, body = outcome["answer"]
    assert status == 200 and json.loads(body)["text"] == "SLOW CLIENT 9"


def test_past_the_queue_limit_503_with_retry_after_then_recovery(engine):
    # Many lines make each job slow enough (a few hundred ms) that the requests overlap.
    pages = [encode(render_lines([f"QUEUE TEST {i} LINE {j} 1234567890" for j in range(14)])) for i in range(10)]
    with running(engine, jobs=1, queue_size=1, threads=3, cache_entries=0, retry_after_seconds=3) as server:
        gate = threading.Barrier(len(pages))
        answers: list[requests.Response | Exception] = [None] * len(pages)

        def client(i: int) -> None:
            gate.wait()
            try:
                answers[i] = requests.post(url(server, "/ocr"), data=pages[i], headers={"Content-Type": "image/png"},
                                           timeout=60)
            except Exception as exc:  # noqa: BLE001 - recorded and asserted on below
                answers[i] = exc

        clients = [threading.Thread(target=client, args=(i,)) for i in range(len(pages))]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=120)
        statuses = [a.status_code if isinstance(a, requests.Response) else repr(a) for a in answers]
        assert set(statuses) <= {200, 503}, statuses
        assert statuses.count(200) >= 2 and statuses.count(503) >= 1, statuses
        for answer in answers:
            if answer.status_code == 503:
                assert answer.headers["Retry-After"] == "3"
                assert answer.json()["error"]["code"] == "busy"
        metrics = requests.get(url(server, "/metrics"), timeout=10).text
        assert f"edgeocr_busy_total {statuses.count(503)}" in metrics
        # Recovered: the line is empty again and the next request is simply answered.
        assert requests.get(url(server, "/health"), timeout=10).json()["queue"]["waiting"] == 0
        done = next(i for i, answer in enumerate(answers) if answer.status_code == 200)
        again = requests.post(url(server, "/ocr"), data=pages[done], headers={"Content-Type": "image/png"}, timeout=60)
        assert again.status_code == 200
        assert len(again.json()["text_lines"]) == 14 and again.json()["text_lines"][0]["text"].startswith("QUEUE TEST")
        assert again.json()["text"] == answers[done].json()["text"]  # the same answer as under load


def test_stop_is_prompt_joins_threads_and_frees_the_port(engine):
    before = set(threading.enumerate())
    with running(engine) as server:
        port = server.port
        assert requests.get(url(server, "/health"), timeout=10).status_code == 200
        # An idle keep-alive connection must not hold the shutdown up.
        idle = socket.create_connection(("127.0.0.1", port))
        started = time.monotonic()
    assert time.monotonic() - started < 3
    idle.close()
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        raise AssertionError("the port still accepts connections after stop()")
    except OSError:
        pass


def test_listening_beyond_loopback_without_a_token_is_warned_about(engine, caplog):
    with running(engine, host="0.0.0.0") as exposed:
        assert requests.get(f"http://127.0.0.1:{exposed.port}/health", timeout=10).status_code == 200
    assert "web.token is not set" in caplog.text
    caplog.clear()
    with running(engine):
        pass
    assert "web.token is not set" not in caplog.text
