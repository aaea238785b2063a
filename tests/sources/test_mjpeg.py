"""The MJPEG splitter on real JPEG frames (rendered text, encoded by OpenCV), in every chunking."""
from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from edgeocr.sources.mjpeg import Frame, FrameError, MjpegSplitter, sniff_other_image
from tests.rendering import encode, render_lines
from tests.sources.frames import jpeg, page, with_comment

TEXTS = ["HELLO WORLD 1", "RECEIPT 2.50", "TOTAL 12.50", "CHANGE 7.25"]


@pytest.fixture(scope="module")
def frames() -> list[bytes]:
    # Mixed baseline and progressive (several SOS segments per frame).
    return [jpeg(text, progressive=i % 2 == 1) for i, text in enumerate(TEXTS)]


def split(data: bytes, chunk_sizes: list[int] | int, max_frame_bytes: int = 1 << 20) -> tuple[list, MjpegSplitter]:
    splitter = MjpegSplitter(max_frame_bytes)
    events: list = []
    sizes = iter(chunk_sizes) if isinstance(chunk_sizes, list) else None
    at = 0
    while at < len(data):
        size = next(sizes) if sizes is not None else chunk_sizes
        events += splitter.feed(data[at:at + size])
        at += size
    events += splitter.finish()
    return events, splitter


def frame_bytes(events: list) -> list[bytes]:
    return [event.data for event in events if isinstance(event, Frame)]


def errors(events: list) -> list[FrameError]:
    return [event for event in events if isinstance(event, FrameError)]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1000, 4096, 1 << 20])
def test_frames_come_out_whole_for_any_chunking(frames, chunk):
    events, splitter = split(b"".join(frames), chunk)
    assert frame_bytes(events) == frames
    assert errors(events) == []
    assert splitter.garbage_bytes == 0


def test_random_chunking_and_offsets(frames):
    data = b"".join(frames)
    rng = random.Random(7)
    events, _ = split(data, [rng.randint(1, 3000) for _ in range(len(data))])
    assert frame_bytes(events) == frames
    offsets = [event.offset for event in events]
    assert offsets == [sum(len(f) for f in frames[:i]) for i in range(len(frames))]


def test_each_frame_decodes_to_its_page(frames):
    events, _ = split(b"".join(frames), 512)
    for data, text in zip(frame_bytes(events), TEXTS):
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        # JPEG is lossy: close to the rendered page, not equal.
        assert decoded.shape == page(text).shape
        assert np.abs(decoded.astype(int) - page(text).astype(int)).mean() < 3


def test_garbage_before_between_and_after_frames_is_skipped(frames):
    junk = [b"junk\x00", b"\xff\xff\xff", b"\xff", b"AB\xffC", b"trailing \xff"]
    data = junk[0] + frames[0] + junk[1] + frames[1] + junk[2] + frames[2] + junk[3] + frames[3] + junk[4]
    for chunk in (1, 5, 4096):
        events, splitter = split(data, chunk)
        assert frame_bytes(events) == frames
        assert errors(events) == []
        assert splitter.garbage_bytes == sum(len(j) for j in junk)


def test_an_embedded_jpeg_does_not_end_the_frame(frames):
    # An EXIF thumbnail is a whole JPEG (with its own FF D9) inside a segment of the outer one;
    # searching for the first FF D9 would cut the frame there.
    thumbnail = encode(render_lines(["x"], font_size=10), ".jpg")
    outer = with_comment(frames[0], thumbnail)
    events, _ = split(outer + frames[1], 100)
    assert frame_bytes(events) == [outer, frames[1]]
    assert cv2.imdecode(np.frombuffer(frame_bytes(events)[0], np.uint8), cv2.IMREAD_COLOR).shape == page("x").shape


def test_truncated_last_frame_is_reported_not_emitted(frames):
    data = frames[0] + frames[1] + frames[2][:700]
    events, _ = split(data, 256)
    assert frame_bytes(events) == frames[:2]
    [error] = errors(events)
    assert error.code == "bad_image"
    assert "truncated" in error.message
    assert error.offset == len(frames[0]) + len(frames[1])


def test_a_frame_cut_off_by_the_next_one_is_reported(frames):
    # The writer restarted mid-frame: a new SOI arrives before the old frame's EOI.
    data = frames[0][:900] + frames[1] + frames[2]
    events, _ = split(data, 333)
    assert frame_bytes(events) == frames[1:3]
    [error] = errors(events)
    assert error.code == "bad_image" and error.offset == 0
    assert [type(e) for e in events] == [FrameError, Frame, Frame]


def test_corrupt_frame_is_dropped_and_the_stream_resynchronises(frames):
    broken = frames[0][:2] + b"\x12\x34not a marker" + frames[0][2:]
    events, _ = split(broken + frames[1], 64)
    assert frame_bytes(events) == [frames[1]]
    [error] = errors(events)
    assert error.code == "bad_image" and "no JPEG marker" in error.message


@pytest.mark.parametrize("chunk", [100, 4096, 1 << 20])
def test_over_long_frame_is_skipped_with_one_error_and_never_buffered(chunk):
    small = jpeg("SMALL 1")
    noise = np.random.default_rng(1).integers(0, 256, (600, 800, 3), dtype=np.uint8)
    big = encode(noise, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95])
    cap = 64 * 1024
    assert len(big) > 4 * cap and len(small) < cap
    data = small + big + small
    splitter = MjpegSplitter(cap)
    events = []
    for at in range(0, len(data), chunk):
        events += splitter.feed(data[at:at + chunk])
        # Never more than the cap plus one chunk in memory.
        assert splitter.buffered_bytes <= cap + chunk
    events += splitter.finish()
    assert frame_bytes(events) == [small, small]
    [error] = errors(events)
    assert error.code == "image_too_large"
    assert "sources.stdin.max_frame_bytes" in error.message and error.offset == len(small)
    assert [type(e) for e in events] == [Frame, FrameError, Frame]


def test_over_long_truncated_frame_reports_once():
    noise = np.random.default_rng(2).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    big = encode(noise, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95])
    events, _ = split(big[: len(big) // 2], 1000, max_frame_bytes=4096)
    assert [(type(e), getattr(e, "code", None)) for e in events] == [(FrameError, "image_too_large")]


def test_nothing_but_garbage_gives_no_frames():
    events, splitter = split(b"no jpeg here \xff\x00" * 100, 37)
    assert events == []
    assert splitter.garbage_bytes == len(b"no jpeg here \xff\x00") * 100


def test_other_image_types_are_recognised_by_their_signature():
    image = page("x")
    assert sniff_other_image(encode(image, ".png")) == "png"
    assert sniff_other_image(encode(image, ".bmp")) == "bmp"
    assert sniff_other_image(encode(image, ".tiff")) == "tiff"
    assert sniff_other_image(encode(image, ".webp")) == "webp"
    assert sniff_other_image(encode(image, ".jpg")) is None
    assert sniff_other_image(b"hello") is None
