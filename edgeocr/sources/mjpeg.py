"""Split a byte stream of concatenated JPEG frames (MJPEG, as ``rpicam-vid --codec mjpeg -o -`` writes).

The splitter walks the JPEG marker structure instead of searching for the next ``FF D9``: an EXIF
thumbnail inside APP1 carries its own SOI/EOI, and a plain search would cut the frame there.
Segments are skipped by their length; inside entropy-coded data ``FF`` is followed by ``00``
(stuffing) or a restart marker, so the first other marker ends the scan.

It is incremental (``feed`` any chunking, ``finish`` at end of stream), drops garbage between
frames, and never holds more than ``max_frame_bytes`` of one frame: a longer one is reported
once and its remaining bytes are discarded as they arrive.
"""
from __future__ import annotations

from dataclasses import dataclass

SOI = b"\xff\xd8"

# What a stream may start with when it is one ordinary image rather than MJPEG.
IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"BM": "bmp",
    b"II*\x00": "tiff",
    b"MM\x00*": "tiff",
    b"RIFF": "webp",
}

_SEEK, _SEGMENTS, _SCAN = range(3)


@dataclass(frozen=True)
class Frame:
    data: bytes
    offset: int  # where the frame started in the stream


@dataclass(frozen=True)
class FrameError:
    code: str
    message: str
    offset: int


def sniff_other_image(head: bytes) -> str | None:
    """The format of a non-JPEG image that ``head`` starts, or ``None``."""
    for signature, name in IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            return name
    return None


class MjpegSplitter:
    """Feed bytes, get complete frames and error records back, in stream order."""

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.garbage_bytes = 0  # bytes outside any frame, for diagnostics
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._pos = 0  # parse position in _buf; may run past its end while a segment is skipped
        self._state = _SEEK
        self._skipping = False  # in an over-long frame: parse on, keep nothing

    @property
    def buffered_bytes(self) -> int:
        """Bytes held right now: at most ``max_frame_bytes`` plus the last chunk fed."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        self._buf += data
        events: list[Frame | FrameError] = []
        while self._step(events):
            pass
        if self._skipping:
            self._discard(min(self._pos, len(self._buf)))
        elif self._state != _SEEK and len(self._buf) > self.max_frame_bytes:
            events.append(self._too_long())
            self._skipping = True
            self._discard(min(self._pos, len(self._buf)))
        return events

    def finish(self) -> list[FrameError]:
        """End of stream: a frame still open is reported as truncated."""
        events = []
        if self._state != _SEEK and not self._skipping:
            events.append(FrameError(
                "bad_image", f"stream ended inside the frame at byte {self._base} "
                             f"({len(self._buf)} bytes, no end marker): truncated frame dropped", self._base))
        elif self._state == _SEEK:
            self.garbage_bytes += len(self._buf)
        self._discard(len(self._buf))
        self._state, self._skipping, self._pos = _SEEK, False, 0
        return events

    # -- internals ------------------------------------------------------------------------------

    def _discard(self, count: int) -> None:
        del self._buf[:count]
        self._base += count
        self._pos -= count

    def _step(self, events: list[Frame | FrameError]) -> bool:
        """Advance the parser once; False when more input is needed."""
        buf = self._buf
        if self._state == _SEEK:
            start = buf.find(SOI)
            if start < 0:
                # Keep a trailing FF: it may be the first half of the next SOI.
                keep = 1 if buf[-1:] == b"\xff" else 0
                self.garbage_bytes += len(buf) - keep
                self._discard(len(buf) - keep)
                self._pos = 0
                return False
            self.garbage_bytes += start
            self._discard(start)
            self._pos, self._state = 2, _SEGMENTS
            return True
        if self._state == _SCAN:
            return self._step_scan()
        return self._step_segment(events)

    def _step_scan(self) -> bool:
        buf = self._buf
        if self._pos >= len(buf):  # the SOS header itself is not all here yet
            return False
        while True:
            at = buf.find(b"\xff", self._pos)
            if at < 0 or at + 1 >= len(buf):
                self._pos = len(buf) if at < 0 else at
                return False
            follower = buf[at + 1]
            if follower == 0x00 or 0xD0 <= follower <= 0xD7:
                self._pos = at + 2  # stuffed byte or restart marker: still scan data
            elif follower == 0xFF:
                self._pos = at + 1  # fill byte before a marker
            else:
                self._pos, self._state = at, _SEGMENTS
                return True

    def _step_segment(self, events: list[Frame | FrameError]) -> bool:
        buf, pos = self._buf, self._pos
        if pos + 2 > len(buf):
            return False
        if buf[pos] != 0xFF:
            self._fail(events, f"corrupt frame at byte {self._base}: no JPEG marker at byte {self._base + pos}")
            return True
        marker = buf[pos + 1]
        if marker == 0xFF:
            self._pos = pos + 1
            return True
        if marker == 0xD9:  # EOI: the frame is complete
            end = pos + 2
            if end > self.max_frame_bytes and not self._skipping:
                events.append(self._too_long())
            elif not self._skipping:
                events.append(Frame(bytes(buf[:end]), self._base))
            self._discard(end)
            self._state, self._skipping, self._pos = _SEEK, False, 0
            return True
        if marker == 0xD8:  # a new SOI before this frame ended: the writer restarted mid-frame
            if not self._skipping:
                events.append(FrameError("bad_image", f"frame at byte {self._base} has no end marker before the "
                                                      f"next frame starts: truncated frame dropped", self._base))
            self._discard(pos)
            self._state, self._skipping, self._pos = _SEGMENTS, False, 2
            return True
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            self._pos = pos + 2
            return True
        if pos + 4 > len(buf):
            return False
        length = (buf[pos + 2] << 8) | buf[pos + 3]
        if length < 2:
            self._fail(events, f"corrupt frame at byte {self._base}: segment length {length} at byte {self._base + pos}")
            return True
        self._pos = pos + 2 + length
        if marker == 0xDA:  # SOS: entropy-coded data follows its header
            self._state = _SCAN
        return True

    def _too_long(self) -> FrameError:
        return FrameError("image_too_large", f"frame at byte {self._base} is longer than {self.max_frame_bytes} "
                                             f"bytes (sources.stdin.max_frame_bytes); skipped", self._base)

    def _fail(self, events: list[Frame | FrameError], message: str) -> None:
        if not self._skipping:
            events.append(FrameError("bad_image", message + "; frame dropped", self._base))
        # Resynchronise on the next SOI after this frame's start.
        self._discard(2)
        self._state, self._skipping, self._pos = _SEEK, False, 0
