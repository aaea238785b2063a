"""One log format for every edgeocr command: time, level, component, message.

``2026-12-02 13:05:07.123 INFO edgeocr.web: listening on http://127.0.0.1:8080/``: the same
shape whether the line comes from the daemon, the web server, its access log or waitress, so one
grep or one log shipper rule reads them all. The time is the local time with milliseconds
(journald adds its own; a plain terminal or a Docker log has none otherwise).
"""
from __future__ import annotations

import logging
import sys
from typing import TextIO

LOG_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
# Loggers that get our handler: ours, and the server library's own (its warnings are ours to show).
COMPONENTS = ("edgeocr", "waitress")


def formatter() -> logging.Formatter:
    return logging.Formatter(LOG_FORMAT, DATE_FORMAT)


def setup_logging(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Send edgeocr's and waitress's records to ``stream`` (stderr) in the one format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter())
    for name in COMPONENTS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
