"""A real edgeocr web server on a loopback port (port 0), on the real engine and model."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from edgeocr.config import Config, with_overrides
from edgeocr.web.server import WebServer
from tests.rendering import encode, render_lines

RECEIPT = ["CORNER CAFE", "Latte 2 x 4.50", "TOTAL 12.20"]


@contextlib.contextmanager
def running(engine, extra_health=None, **web: Any) -> Iterator[WebServer]:
    """A started server with ``web.<key>`` overrides; always stopped (and its threads joined)."""
    config = with_overrides(Config(), {"web.port": 0, **{f"web.{key}": value for key, value in web.items()}})
    server = WebServer(engine, config, extra_health=extra_health)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def url(server: WebServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


@pytest.fixture(scope="module")
def server(engine) -> Iterator[WebServer]:
    with running(engine, extra_health=lambda: {"daemon": {"alive": True}}) as started:
        yield started


@pytest.fixture(scope="session")
def receipt_png() -> bytes:
    return encode(render_lines(RECEIPT))
