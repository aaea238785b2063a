"""The web server: the Bottle app on waitress, in a background thread, stoppable and joinable.

waitress rather than Bottle's default ``wsgiref`` server: that one handles one request at a time,
so a single slow upload would stall the page and ``/health``. waitress buffers each request body
(on disk past 512 KiB) before a worker thread sees it, so a client trickling its body holds no
thread, and it refuses bodies over ``max_request_body_size``, chunked ones included.
"""
from __future__ import annotations

import ipaddress
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server

from ..cache import ResultCache
from ..config import Config
from ..engine import Engine
from .app import WebState, create_app
from .connections import guard_server
from .limits import Admission

log = logging.getLogger("edgeocr.web")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class WebServer:
    """``start()`` binds and serves in the background; ``stop()`` closes and joins every thread."""

    def __init__(self, engine: Engine, config: Config, extra_health: Callable[[], dict] | None = None,
                 cache: ResultCache | None = None) -> None:
        web = config.web
        self.config = config
        self.state = WebState(engine, config,
                              cache if cache is not None else ResultCache(web.cache_entries),
                              Admission(web.jobs, web.queue_size),
                              ThreadPoolExecutor(web.jobs, thread_name_prefix="edgeocr-ocr"),
                              extra_health=extra_health)
        self.app = create_app(self.state)
        self.host = web.host
        self.port: int | None = None
        self._map: dict = {}
        self._server = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._stop_requested = threading.Event()

    def start(self) -> None:
        web = self.config.web
        # waitress warns for every request that waits for a thread; under a burst that floods the
        # journal with what edgeocr_queue_depth and the 503 count in /metrics already say.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self._server = create_server(
            self.app, map=self._map, host=web.host, port=web.port, threads=web.threads,
            max_request_body_size=web.max_body_bytes, channel_timeout=web.channel_timeout_seconds,
            connection_limit=web.max_connections,
            # The sweep for idle and late requests runs this often (waitress's default is 30 s).
            cleanup_interval=1,
            ident="edgeocr", expose_tracebacks=False, clear_untrusted_proxy_headers=True)
        for dispatcher in list(self._map.values()):
            if isinstance(dispatcher, BaseWSGIServer):
                guard_server(dispatcher, web.request_timeout_seconds)
        listening = getattr(self._server, "effective_listen", None)
        self.port = listening[0][1] if listening else self._server.effective_port
        self._thread = threading.Thread(target=self._loop, name="edgeocr-web", daemon=False)
        self._thread.start()
        log.info("listening on http://%s:%s/", self.host, self.port)
        if web.token is None and not _is_loopback(web.host):
            log.warning("%s is reachable from the network and web.token is not set: anyone who can "
                        "reach it can use the OCR API", web.host)

    def _loop(self) -> None:
        try:
            # Our own loop instead of server.run(): it checks the stop flag between polls, so every
            # socket is closed by this thread and never from under it.
            while not self._stopping.is_set():
                wasyncore.loop(timeout=0.2, map=self._map, use_poll=True, count=1)
        finally:
            wasyncore.close_all(self._map)
            self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
            self.state.runner.shutdown(wait=True, cancel_futures=True)

    def stop(self) -> None:
        """Refuse new work, close the listener and connections, join the worker threads."""
        self.state.admission.close()
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            log.info("stopped; http://%s:%s/ no longer listens", self.host, self.port)

    def request_stop(self) -> None:
        """Ask ``serve_forever`` to return (safe from a signal handler)."""
        self._stop_requested.set()

    def serve_forever(self) -> None:
        """``edgeocr serve``: run until SIGTERM or Ctrl-C, then stop cleanly."""
        self.start()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
        try:
            while not self._stop_requested.wait(0.5):
                pass
            log.info("stopping (SIGTERM)")
        except KeyboardInterrupt:
            log.info("stopping (Ctrl-C)")
        finally:
            self.stop()
