"""Connection hygiene on top of waitress: a whole-request deadline, room for /health, graceful refusals.

waitress's ``channel_timeout`` counts from a connection's last byte, so a client sending one byte
every few seconds is never closed, and ~100 such clients (waitress's ``connection_limit``) lock
everyone out. Three additions, all on the server's own event-loop thread:

* every request must arrive whole (headers and body) within ``web.request_timeout_seconds`` of its
  first byte; a late one is answered ``408`` and closed, however steadily it trickles;
* when all ``web.max_connections`` are open, the connection that has waited longest without a
  complete request is closed to make room, so a new client (``/health`` included) is always let in;
* after refusing a request from its headers (413, a malformed request), the rest of what the client
  is still sending is read and thrown away (up to ``DRAIN_BYTES`` / ``DRAIN_SECONDS``) after the
  answer, instead of closing with unread data, which makes the kernel send a reset that can destroy
  the answer before the client reads it.
"""
from __future__ import annotations

import json
import logging
import select
import socket
import time

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import ErrorTask

from ..result import error_dict
from .app import log_access

log = logging.getLogger("edgeocr.web")

# What a refused client may still send before we stop reading and close anyway.
DRAIN_BYTES = 32 * 1024 * 1024
DRAIN_SECONDS = 5.0
JSON_TYPE = "application/json; charset=utf-8"


class JsonErrorTask(ErrorTask):
    """waitress's own refusals (body too large, malformed request line) as JSON, like ours."""

    def execute(self) -> None:
        error = self.request.error
        if error.code == 413:
            code = "body_too_large"
            limit = self.channel.server.adj.max_request_body_size
            message = f"the request body is over {limit} bytes (web.max_body_bytes)"
        else:
            code = "bad_request" if error.code < 500 else "internal_error"
            message = f"{error.reason}: {error.body}"
        body = json.dumps(error_dict(code, message)).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", JSON_TYPE))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)
        log_access({"REMOTE_ADDR": self.channel.addr[0] if self.channel.addr else "-",
                    "REQUEST_METHOD": self.request.command or "-", "PATH_INFO": self.request.path or "(unparsed)"},
                   error.code, len(body), 0.0)


class _TimedParser(HTTPRequestParser):
    """A request parser that knows when the request's first byte came, and tells its channel when
    the request was refused from its head (everything after that is the refused body)."""

    def __init__(self, adj, channel: "GuardedChannel") -> None:
        super().__init__(adj)
        self.started = time.monotonic()
        self.channel = channel

    def received(self, data: bytes) -> int:
        if self.channel.refused:
            self.channel.count_drained(len(data))
            return len(data)  # the rest of a refused request: swallowed, never parsed as a new one
        consumed = super().received(data)
        if self.completed and self.error is not None:
            self.channel.refused = True
        return consumed


class GuardedChannel(HTTPChannel):
    error_task_class = JsonErrorTask

    def __init__(self, server, sock, addr, adj, map=None) -> None:
        self.refused = False  # a request was refused from its head: drain, then close
        self.timed_out = False
        self.drain_started: float | None = None
        self.drained_bytes = 0
        super().__init__(server, sock, addr, adj, map)
        self.parser_class = lambda parser_adj: _TimedParser(parser_adj, self)

    # -- the request deadline ----------------------------------------------------------------------

    def pending_since(self) -> float | None:
        """When the request still arriving on this connection began (None: nothing arriving)."""
        if self.refused or self.timed_out or self.requests or self.will_close or self.close_when_flushed:
            return None
        request = self.request
        return request.started if isinstance(request, _TimedParser) else None

    def answer_timeout(self, limit: float) -> None:
        """408 and close: called on the event-loop thread, only while no task serves this channel."""
        self.timed_out = True
        body = json.dumps(error_dict("request_timeout", f"the request did not arrive whole within {limit:g} s "
                                     "(web.request_timeout_seconds)")).encode()
        head = (f"HTTP/1.1 408 Request Timeout\r\nContent-Type: {JSON_TYPE}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode()
        with self.outbuf_lock:
            self.outbufs[-1].append(head + body)
            self.total_outbufs_len += len(head) + len(body)
            self.current_outbuf_count += len(head) + len(body)
        if self.request is not None:
            self.request.close()
            self.request = None
        self.close_when_flushed = True

    # -- draining a refused request ----------------------------------------------------------------

    def count_drained(self, size: int) -> None:
        self.drained_bytes += size
        if self.drained_bytes > DRAIN_BYTES:
            self.will_close = True
            self.refused = False  # over budget: close for real, whatever is still unread

    def draining(self) -> bool:
        return self.drain_started is not None

    def readable(self) -> bool:
        return True if self.draining() else super().readable()

    def writable(self) -> bool:
        return False if self.draining() else super().writable()

    def handle_read(self) -> None:
        if not self.draining():
            super().handle_read()
            return
        try:
            data = self.recv(self.adj.recv_bytes)  # b"" at the client's end of file: recv closes us
        except OSError:
            data = b""
            HTTPChannel.handle_close(self)
        if data:
            self.count_drained(len(data))
            if self.drained_bytes > DRAIN_BYTES:
                HTTPChannel.handle_close(self)

    def handle_close(self) -> None:
        if self.draining() or not (self.refused and self.connected):
            HTTPChannel.handle_close(self)
            return
        # The answer is flushed: tell the client we are done writing, and keep reading what it
        # still sends until it stops, so the close does not reset the connection under the answer.
        try:
            self.socket.shutdown(socket.SHUT_WR)
        except OSError:
            HTTPChannel.handle_close(self)
            return
        self.drain_started = time.monotonic()
        self.will_close = False
        self.close_when_flushed = False


class GuardedServerMixin:
    """Mixed into waitress's server class: the deadline sweep and making room at the limit."""

    request_timeout: float = 60.0

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # waitress's idle timeout (channel_timeout)
        mono = time.monotonic()
        for channel in list(self.active_channels.values()):
            if not isinstance(channel, GuardedChannel):
                continue
            if channel.draining():
                if mono - channel.drain_started > DRAIN_SECONDS:
                    HTTPChannel.handle_close(channel)
                continue
            started = channel.pending_since()
            if started is not None and mono - started > self.request_timeout:
                channel.answer_timeout(self.request_timeout)

    def readable(self) -> bool:
        if self.accepting and len(self._map) >= self.adj.connection_limit and self._someone_waits():
            self._make_room()
        return super().readable()

    def _someone_waits(self) -> bool:
        # Only make room for a client that is actually waiting in the listen backlog: at the limit
        # with nobody waiting, every open connection keeps its place.
        try:
            ready, _, _ = select.select([self.socket], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(ready)

    def _make_room(self) -> None:
        """Close the connection that has waited longest without a complete request (idle ones first)."""
        idle: list[tuple[float, GuardedChannel]] = []
        pending: list[tuple[float, GuardedChannel]] = []
        for channel in self.active_channels.values():
            if not isinstance(channel, GuardedChannel):
                continue
            if channel.will_close or channel.close_when_flushed or channel.draining() or channel.timed_out:
                return  # one is closing already; its slot is on the way
            if channel.requests:
                continue  # being served
            started = channel.pending_since()
            if started is not None:
                pending.append((started, channel))
            elif channel.request is None:
                idle.append((channel.last_activity, channel))
        if idle:
            min(idle, key=lambda item: item[0])[1].will_close = True
        elif pending:  # (its 408 has an access log line)
            min(pending, key=lambda item: item[0])[1].answer_timeout(self.request_timeout)


class _OverflowOncePerMinute(logging.Filter):
    """waitress logs each time the connection limit is reached and left; at the limit we make room
    for every newcomer, so under a flood that is two lines per connection. One a minute says it."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, float] = {}  # per message, so "reached" and "dropped below" each show

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if "connection limit" not in message:
            return True
        now = time.monotonic()
        if now - self.last.get(message, -3600.0) < 60:
            return False
        self.last[message] = now
        return True


_OVERFLOW_FILTER = _OverflowOncePerMinute()
_GUARDED: dict[type, type] = {}


def guard_server(server, request_timeout: float) -> None:
    """Give a waitress server (from ``create_server``) our channels and sweeps, in place."""
    base = type(server)
    if base not in _GUARDED:
        _GUARDED[base] = type(f"Guarded{base.__name__}", (GuardedServerMixin, base), {})
    server.__class__ = _GUARDED[base]
    server.channel_class = GuardedChannel
    server.request_timeout = request_timeout
    waitress_log = logging.getLogger("waitress")
    if _OVERFLOW_FILTER not in waitress_log.filters:
        waitress_log.addFilter(_OVERFLOW_FILTER)
