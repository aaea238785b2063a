"""Connection hygiene over real sockets: trickling clients, the connection limit, refused uploads."""
from __future__ import annotations

import json
import selectors
import socket
import threading
import time

import requests

from tests.web.conftest import running, url


def _read_answer(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            raise
        if not chunk:
            return data
        data += chunk


class Tricklers:
    """``count`` connections that each send one more header byte every ``pause`` s, forever."""

    def __init__(self, port: int, count: int, pause: float = 0.5) -> None:
        self.socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
        self.closed_at: dict[int, float] = {}
        self.answers: dict[int, bytes] = {}
        self.pause = pause
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        head = b"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 100_000
        sent = 0
        selector = selectors.DefaultSelector()
        for index, sock in enumerate(self.socks):
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, index)
        while not self._stop.is_set() and len(self.closed_at) < len(self.socks):
            for key, _ in selector.select(timeout=self.pause):
                index = key.data
                try:
                    chunk = key.fileobj.recv(65536)
                except OSError:  # reset: closed as well
                    chunk = b""
                if chunk:
                    self.answers[index] = self.answers.get(index, b"") + chunk
                    continue
                self.closed_at[index] = time.monotonic() - self.started
                selector.unregister(key.fileobj)
            for index, sock in enumerate(self.socks):
                if index not in self.closed_at:
                    try:
                        sock.send(head[sent:sent + 1])
                    except OSError:
                        pass  # noticed as closed by the select above
            sent += 1
        selector.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        for sock in self.socks:
            sock.close()


def test_trickling_connections_get_408_within_the_deadline_and_health_still_answers(engine):
    # 110 tricklers against the default web.max_connections (100): before, waitress stopped
    # accepting at 100 connections and kept every trickler open forever (each byte is "activity").
    with running(engine, request_timeout_seconds=3, channel_timeout_seconds=10) as server:
        tricklers = Tricklers(server.port, 110)
        try:
            time.sleep(1.0)
            for _ in range(3):
                health = requests.get(url(server, "/health"), timeout=10)
                assert health.status_code == 200 and health.json()["status"] == "ok"
            deadline = time.monotonic() + 3 + 10  # the deadline, the 1 s sweep, and slack for a shared CPU
            while len(tricklers.closed_at) < 110 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert len(tricklers.closed_at) == 110, f"{110 - len(tricklers.closed_at)} tricklers still open"
            answered = [json.loads(a.partition(b"\r\n\r\n")[2]) for a in tricklers.answers.values()
                        if a.startswith(b"HTTP/1.1 408")]
            assert answered and all(a["error"]["code"] == "request_timeout" for a in answered)
            assert "web.request_timeout_seconds" in answered[0]["error"]["message"]
        finally:
            tricklers.close()
        assert requests.get(url(server, "/health"), timeout=10).status_code == 200


def _send_too_much(port: int, size: int, outcome: list, index: int, gate: threading.Barrier) -> None:
    body = b"x" * size
    head = b"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n" % size
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            gate.wait()
            try:
                sock.sendall(head + body)  # the whole body first, as a hurried client does; only then read
            except (BrokenPipeError, ConnectionResetError) as exc:
                outcome[index] = f"reset while sending: {exc!r}"
                return
            outcome[index] = _read_answer(sock)
    except OSError as exc:
        outcome[index] = f"reset while reading: {exc!r}"


def test_every_over_limit_upload_reads_its_413_even_under_load(engine):
    # Before: waitress answered 413 from the Content-Length and closed at once with the body still
    # arriving; the kernel then resets the connection, and the client loses the answer.
    with running(engine, max_body_bytes=100_000) as server:
        clients = 16
        outcome: list = [None] * clients
        gate = threading.Barrier(clients)
        threads = [threading.Thread(target=_send_too_much, args=(server.port, 3_000_000, outcome, i, gate))
                   for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        failures = [o for o in outcome if not isinstance(o, bytes)]
        assert not failures, f"{len(failures)} of {clients} got no answer: {failures[:3]}"
        for answer in outcome:
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"] == "body_too_large"
        assert requests.get(url(server, "/health"), timeout=10).status_code == 200


def test_a_client_that_never_stops_sending_is_closed_after_the_drain_budget(engine, monkeypatch):
    from edgeocr.web import connections

    monkeypatch.setattr(connections, "DRAIN_BYTES", 2_000_000)  # the real budget, made small for a quick test
    with running(engine, max_body_bytes=100_000) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                         b"Content-Length: 999999999999\r\n\r\n")
            chunk = b"x" * 1_000_000
            sent = 0
            try:
                while sent < connections.DRAIN_BYTES * 20:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert sent <= connections.DRAIN_BYTES * 10, "the server kept reading past its drain budget"
