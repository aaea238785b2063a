"""The camera source: OpenCV ``VideoCapture`` sampled every N seconds, unchanged frames skipped.

``device`` is a device index ("0" = /dev/video0), a stream URL (rtsp://, http:// MJPEG) or a
video file; OpenCV opens them all alike. A camera that is missing or goes away is reopened with
a doubling wait (capped at ``reconnect_seconds``), reported once per outage as an error record,
so a USB camera unplugged for a minute costs nothing but that minute. A video file plays once.

Frames are grabbed continuously and decoded only when one is due: grabbing drains the driver's
queue, so the frame we OCR is the current one and not one that waited there since the last OCR.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..config import Config
from ..errors import EdgeOcrError, SourceUnavailableError
from ..result import error_dict
from ..fileio import utc_iso
from .sink import FrameSink, frame_record

log = logging.getLogger("edgeocr.sources.camera")

THUMB_WIDTH = 160  # a changed character still shows; downscaling averages sensor noise away
# A thumbnail pixel counts as changed when its grey level moved by more than this. Noise and
# auto-exposure move every pixel a little; new text moves a few pixels a lot. (A mean difference
# cannot tell these apart: a +8 brightness step scores higher than a page of new text.)
CHANGED_LEVELS = 24
FIRST_RETRY_SECONDS = 0.25


@dataclass
class CameraStats:
    frames_read: int = 0
    processed: int = 0
    skipped_unchanged: int = 0
    outages: int = 0


# A network camera that stalls without closing the connection would otherwise block a read for
# FFmpeg's default 30 s; after this long without a frame it counts as gone and is reopened.
STREAM_OPEN_TIMEOUT_MS = 15_000
STREAM_READ_TIMEOUT_MS = 10_000


def open_capture(device: str) -> cv2.VideoCapture:
    if device.strip().isdigit():
        return cv2.VideoCapture(int(device))  # V4L2 has its own read timeout
    return cv2.VideoCapture(device, cv2.CAP_ANY, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_OPEN_TIMEOUT_MS,
                                                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_READ_TIMEOUT_MS])


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A small grey copy: comparing two costs about a millisecond, against tens for OCR."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    height = max(1, round(gray.shape[0] * THUMB_WIDTH / gray.shape[1]))
    return cv2.resize(gray, (THUMB_WIDTH, height), interpolation=cv2.INTER_AREA)


def frame_change(previous: np.ndarray | None, current: np.ndarray) -> float:
    """Percent of thumbnail pixels whose grey level changed by more than ``CHANGED_LEVELS``;
    100 when there is nothing to compare with (first frame, new resolution)."""
    if previous is None or previous.shape != current.shape:
        return 100.0
    return float(np.count_nonzero(cv2.absdiff(previous, current) > CHANGED_LEVELS) * 100.0 / current.size)


class _CameraLoop:
    def __init__(self, engine: Any, config: Config, stop_event: threading.Event, sink: FrameSink) -> None:
        self.engine, self.stop_event, self.sink = engine, stop_event, sink
        self.settings = config.sources.camera
        self.name = f"camera:{self.settings.device}"
        self.stats = CameraStats()
        self.index = 0
        self.last_thumb: np.ndarray | None = None
        self.next_due = 0.0

    def run(self) -> CameraStats:
        first_delay = min(FIRST_RETRY_SECONDS, self.settings.reconnect_seconds)
        delay, in_outage = first_delay, False
        while not self.stop_event.is_set():
            capture = open_capture(self.settings.device)
            try:
                if capture.isOpened():
                    # Only a frame ends an outage: a busy camera opens fine and then fails to
                    # stream, and must not cost a record and a short wait on every attempt.
                    if self._read(capture):
                        if in_outage:
                            log.info("%s: delivering frames again", self.name)
                        in_outage, delay = False, first_delay
                    # Checked after reading: a file's end is final, a device's is an outage.
                    if Path(self.settings.device).is_file() or self.stop_event.is_set():
                        break
                    message = f"{self.settings.device}: the camera stopped delivering frames; reopening"
                else:
                    message = f"{self.settings.device}: cannot open the camera (device index, URL or path)"
            finally:
                capture.release()
            if not in_outage:
                in_outage = True
                self.stats.outages += 1
                self._emit(error_dict(SourceUnavailableError.code, message), utc_iso(), None)
            log.warning("%s; retrying in %.2f s", message, delay)
            self.stop_event.wait(delay)
            delay = min(delay * 2, self.settings.reconnect_seconds)
        return self.stats

    def _read(self, capture: cv2.VideoCapture) -> int:
        """Frames grabbed until the capture fails or ends (or ``stop_event``)."""
        grabbed = 0
        while not self.stop_event.is_set():
            if not capture.grab():
                return grabbed
            grabbed += 1
            self.stats.frames_read += 1
            now = time.monotonic()
            if now < self.next_due:
                continue
            ok, frame = capture.retrieve()
            if not ok or frame is None:
                return grabbed
            self.next_due = now + self.settings.interval_seconds
            thumb = thumbnail(frame)
            change = frame_change(self.last_thumb, thumb)
            if change < self.settings.min_change:
                self.stats.skipped_unchanged += 1
                continue
            self.last_thumb = thumb
            self._ocr(frame, change)
        return grabbed

    def _ocr(self, frame: np.ndarray, change: float) -> None:
        captured_at = utc_iso()
        try:
            result = self.engine.ocr_array(frame).to_dict()
        except EdgeOcrError as exc:
            result = error_dict(exc.code, exc.message)
        except Exception as exc:  # one bad frame must not stop the camera
            log.exception("%s: frame %d: unexpected error", self.name, self.index)
            result = error_dict("internal_error", f"{type(exc).__name__}: {exc}")
        result["frame_change"] = round(change, 3)
        encoded = None
        if self.sink.save_dir is not None:
            ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
            encoded = buffer.tobytes() if ok else None
        self.stats.processed += 1
        self._emit(result, captured_at, encoded)

    def _emit(self, result: dict[str, Any], captured_at: str, frame: bytes | None) -> None:
        self.sink.emit(frame_record(self.name, self.index, captured_at, result), frame, ".jpg")
        self.index += 1


def run_camera_source(engine: Any, config: Config, stop_event: threading.Event,
                      sink: FrameSink | None = None) -> CameraStats:
    """Sample ``config.sources.camera.device`` until ``stop_event`` (or the end of a video file)."""
    own_sink = sink is None
    sink = sink or FrameSink.from_config(config.sources)
    try:
        return _CameraLoop(engine, config, stop_event, sink).run()
    finally:
        if own_sink:
            sink.close()
