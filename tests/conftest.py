from __future__ import annotations

import threading

import pytest

from edgeocr.config import Config


@pytest.fixture(scope="session")
def default_config() -> Config:
    return Config()


@pytest.fixture(scope="session")
def engine(default_config):
    """The real engine on the shipped default pack (real ONNX Runtime session, real model)."""
    from edgeocr.engine import Engine

    return Engine(default_config)


@pytest.fixture(autouse=True)
def _no_thread_leaks():
    """A test that leaves threads running would hide a shutdown bug in a long-running daemon."""
    before = {t.ident for t in threading.enumerate()}
    yield
    leaked = [t for t in threading.enumerate() if t.ident not in before and t.is_alive() and not t.daemon]
    assert not leaked, f"threads leaked: {leaked}"
