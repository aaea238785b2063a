"""The stdin source: one image, or an MJPEG stream of frames, each answered with one JSON line.

``rpicam-vid -t 0 --codec mjpeg --framerate 1 -o - | edgeocr stream`` reads a Pi camera;
``edgeocr stream --single < page.png`` reads one image. Every frame goes through the shared
engine (``engine.run``); a bad frame becomes an error record and the stream goes on.
"""
from __future__ import annotations

import io
import logging
import os
import select
import stat
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

from ..config import Config
from ..pdf_input import is_pdf
from ..result import error_dict
from .mjpeg import Frame, MjpegSplitter, sniff_other_image
from ..fileio import utc_iso
from .sink import FrameSink, frame_record

log = logging.getLogger("edgeocr.sources.stdin")

SOURCE_NAME = "stdin"
CHUNK_BYTES = 64 * 1024
_POLL_SECONDS = 0.5  # how often a blocked read looks at the stop event
_EXTENSIONS = {"png": ".png", "bmp": ".bmp", "tiff": ".tif", "webp": ".webp", "pdf": ".pdf"}


def _chunks(stream: BinaryIO, stop_event: threading.Event, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Chunks as they arrive, until end of stream or ``stop_event``.

    A pipe is read through its descriptor with ``select``, so a stop request is noticed within
    half a second even while the writer is silent (a camera that stalled).
    """
    try:
        fd = stream.fileno()
        polled = not stat.S_ISREG(os.fstat(fd).st_mode)
    except (AttributeError, OSError, io.UnsupportedOperation):
        fd, polled = -1, False
    if polled:
        while not stop_event.is_set():
            ready, _, _ = select.select([fd], [], [], _POLL_SECONDS)
            if not ready:
                continue
            data = os.read(fd, size)
            if not data:
                return
            yield data
        return
    read = getattr(stream, "read1", stream.read)
    while not stop_event.is_set():
        data = read(size)
        if not data:
            return
        yield data


class _Emitter:
    """Numbers the frames, runs the engine, writes the records, remembers whether any failed."""

    def __init__(self, engine: Any, sink: FrameSink) -> None:
        self.engine, self.sink = engine, sink
        self.index = 0
        self.failed = False

    def frame(self, data: bytes, ext: str = ".jpg") -> None:
        captured_at = utc_iso()
        try:
            # A PDF (stdin --single) needs the document entry point; a frame keeps the one-image call.
            result = self.engine.run_document(data) if is_pdf(data) else self.engine.run(data)
        except Exception as exc:  # a bug or MemoryError in one frame must not end the stream
            log.exception("frame %d: unexpected error", self.index)
            result = error_dict("internal_error", f"{type(exc).__name__}: {exc}")
        self._write(result, captured_at, data, ext)

    def error(self, code: str, message: str, **extra: Any) -> None:
        log.warning("frame %d: %s: %s", self.index, code, message)
        self._write({**error_dict(code, message), **extra}, utc_iso(), None, ".jpg")

    def _write(self, result: dict[str, Any], captured_at: str, data: bytes | None, ext: str) -> None:
        if not result.get("success"):
            self.failed = True
        self.sink.emit(frame_record(SOURCE_NAME, self.index, captured_at, result), data, ext)
        self.index += 1


def run_stdin_source(engine: Any, config: Config, stop_event: threading.Event, stream: BinaryIO | None = None,
                     sink: FrameSink | None = None) -> int:
    """Read ``stream`` (default ``sys.stdin.buffer``) to its end or until ``stop_event``.

    Returns 0 when every frame was recognized, 1 when any frame failed or no frame arrived
    (the ``edgeocr stream`` exit status).
    """
    if stream is None:
        import sys

        stream = sys.stdin.buffer
    own_sink = sink is None
    sink = sink or FrameSink.from_config(config.sources)
    emitter = _Emitter(engine, sink)
    try:
        chunks = _chunks(stream, stop_event)
        if config.sources.stdin.mode == "single":
            _read_single(chunks, b"", config.engine.max_bytes, emitter)
        else:
            _read_mjpeg(chunks, config, emitter)
    finally:
        if own_sink:
            sink.close()
    return 1 if emitter.failed or emitter.index == 0 else 0


def _read_single(chunks: Iterator[bytes], head: bytes, max_bytes: int, emitter: _Emitter) -> None:
    parts, size = [head], len(head)
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            emitter.error("image_too_large", f"input is larger than {max_bytes} bytes (engine.max_bytes)")
            for _ in chunks:  # drain, so the writer is not killed by SIGPIPE
                pass
            return
    data = b"".join(parts)
    if not data:
        emitter.error("bad_image", "no input on stdin")
        return
    kind = "pdf" if is_pdf(data) else sniff_other_image(data[:8])
    emitter.frame(data, _EXTENSIONS.get(kind or "", ".jpg"))


def _read_mjpeg(chunks: Iterator[bytes], config: Config, emitter: _Emitter) -> None:
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= 8:
            break
    other = sniff_other_image(head)
    if other is not None:
        # One PNG/BMP/TIFF/WebP piped in: there is no frame structure to split, read it whole.
        _read_single(chunks, head, config.engine.max_bytes, emitter)
        return
    splitter = MjpegSplitter(config.sources.stdin.max_frame_bytes)
    total = 0
    for chunk in _prepend(head, chunks):
        total += len(chunk)
        for event in splitter.feed(chunk):
            _handle(event, emitter)
    for event in splitter.finish():
        _handle(event, emitter)
    if emitter.index == 0:
        emitter.error("bad_image", f"no JPEG frame found in {total} bytes of input "
                                   f"(sources.stdin.mode is mjpeg; use single for one image)")
    elif splitter.garbage_bytes:
        log.info("skipped %d bytes outside JPEG frames", splitter.garbage_bytes)


def _prepend(head: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from chunks


def _handle(event: Any, emitter: _Emitter) -> None:
    if isinstance(event, Frame):
        emitter.frame(event.data)
    else:
        emitter.error(event.code, event.message, stream_offset=event.offset)
