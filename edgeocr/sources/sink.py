"""Where frame results go: one JSON line per frame (stdout or a file), optionally the frame itself.

Each line is written with a single ``write`` on a file opened ``O_APPEND``, so lines from the
camera and stdin threads (or another process appending to the same file) never interleave, and a
crash leaves at most one incomplete last line. Saved frames and their sidecars are written
atomically (temporary file, fsync, rename), so a folder watcher never sees half a frame.
"""
from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any, TextIO

from ..config import SourcesConfig
from ..fileio import atomic_write, utc_iso


def frame_record(source: str, frame_index: int, captured_at: str, result: dict[str, Any]) -> dict[str, Any]:
    """The JSON line for one frame: where and when it came from, then the engine's result."""
    return {"source": source, "frame_index": frame_index, "captured_at": captured_at, **result}


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "frame"


# One lock for every sink: two sources writing to stdout each hold their own sink, and a text
# stream is not safe for concurrent writes.
_WRITE_LOCK = threading.Lock()


class FrameSink:
    """Writes frame records; safe to share between source threads."""

    def __init__(self, output: str = "-", save_frames_dir: str | None = None, stream: TextIO | None = None) -> None:
        self._lock = _WRITE_LOCK
        self._stream = stream
        self._fd: int | None = None
        if stream is None and output != "-":
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        elif stream is None:
            import sys

            self._stream = sys.stdout
        self.save_dir = Path(save_frames_dir) if save_frames_dir else None
        if self.save_dir is not None:
            self.save_dir.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_config(cls, config: SourcesConfig, stream: TextIO | None = None) -> "FrameSink":
        return cls(config.output, config.save_frames_dir, stream)

    def emit(self, record: dict[str, Any], frame: bytes | None = None, ext: str = ".jpg") -> dict[str, Any]:
        """Write one record (the engine's result plus ``source``, ``frame_index``, ``captured_at``).

        With a save folder and ``frame`` bytes, the frame is saved first and the record gains
        ``frame_path``; its sidecar ``<frame>.json`` holds the same record. Returns the record.
        """
        if self.save_dir is not None and frame is not None:
            stamp = record.get("captured_at", utc_iso()).replace(":", "").replace("-", "")
            name = _safe_name(f"{stamp}-{record.get('source', 'frame')}-{record.get('frame_index', 0):06d}") + ext
            path = self.save_dir / name
            record = {**record, "frame_path": str(path)}
            atomic_write(path, frame)
            atomic_write(path.with_name(path.name + ".json"),
                         (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            if self._fd is not None:
                data = line.encode("utf-8")
                written = os.write(self._fd, data)
                while written < len(data):  # only on a full disk or a signal; finish the line
                    written += os.write(self._fd, data[written:])
            else:
                assert self._stream is not None
                self._stream.write(line)
                self._stream.flush()
        return record

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> "FrameSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
