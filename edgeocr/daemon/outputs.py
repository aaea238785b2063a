"""Sidecars and moves, each atomic: a reader (or a crash) never sees half a file.

A write goes to a dot-named temporary file in the target's own folder (so the rename cannot cross
a filesystem and our own watcher ignores it), is fsynced, renamed over the final name, and the
folder is fsynced so the rename itself survives power loss. Order of effects for one input:
sidecar first, then the image moves; a crash in between leaves the image in the inbox and the
journal says "processing", so the restart rewrites the same sidecar and finishes the move.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from ..fileio import atomic_write, fsync_dir

SIDE_SUFFIX, ERROR_SUFFIX, TEXT_SUFFIX = ".json", ".error.json", ".txt"


def move_file(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` (a symlink moves as the link itself, its target untouched)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_across(src, dst)
    fsync_dir(dst.parent)
    fsync_dir(src.parent)


def _copy_across(src: Path, dst: Path) -> None:
    # Folders on different filesystems: copy to a temp name beside dst, rename, then unlink src;
    # a crash before the unlink leaves the source, which the journal resumes.
    temp = dst.parent / f".{dst.name}.moving.tmp"
    if src.is_symlink():
        if temp.is_symlink() or temp.exists():
            temp.unlink()
        os.symlink(os.readlink(src), temp)
    else:
        shutil.copy2(src, temp, follow_symlinks=False)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
    os.replace(temp, dst)
    os.unlink(src)


def dumps(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False) + "\n").encode("utf-8")


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            loaded = json.load(handle)
        return loaded if isinstance(loaded, dict) else None
    except (OSError, ValueError):
        return None


class Outputs:
    """Where an input's results go, for one set of folders and one mode."""

    def __init__(self, inbox: Path, processed: Path, failed: Path, mode: str, write_text: bool) -> None:
        self.inbox, self.processed, self.failed = inbox, processed, failed
        self.mode, self.write_text = mode, write_text

    def choose_dest(self, root: Path, rel: str) -> str:
        """``rel`` under ``root``, or ``name.N.ext`` when an earlier file of that name is there."""
        if self.mode == "in-place" and root == self.processed:
            return rel
        pure = PurePosixPath(rel)
        candidate, number = pure, 1
        while self._taken(root / candidate):
            candidate = pure.with_name(f"{pure.stem}.{number}{pure.suffix}")
            number += 1
        return candidate.as_posix()

    @staticmethod
    def _taken(path: Path) -> bool:
        return any(os.path.lexists(str(path) + suffix) for suffix in ("", SIDE_SUFFIX, ERROR_SUFFIX))

    def success_paths(self, dest: str) -> tuple[Path, Path]:
        """(where the image ends up, its sidecar)."""
        root = self.inbox if self.mode == "in-place" else self.processed
        image = root / dest
        return image, Path(str(image) + SIDE_SUFFIX)

    def write_success(self, rel: str, dest: str, document: dict[str, Any]) -> Path:
        image, sidecar = self.success_paths(dest)
        if self.write_text:  # before the sidecar: consumers take the JSON as "this one is complete"
            text = document.get("text") or ""
            atomic_write(Path(str(image) + TEXT_SUFFIX), (text + "\n" if text else "").encode("utf-8"))
        atomic_write(sidecar, dumps(document))
        if self.mode == "move":
            move_file(self.inbox / rel, image)
        return sidecar

    def write_failure(self, rel: str, dest: str, report: dict[str, Any]) -> Path:
        """Failures leave the inbox in both modes: a bad file must not sit there forever."""
        image = self.failed / dest
        error_path = Path(str(image) + ERROR_SUFFIX)
        atomic_write(error_path, dumps(report))
        move_file(self.inbox / rel, image)
        return error_path
