"""Sidecars and moves, each atomic: a reader (or a crash) never sees half a file.

A write goes to a dot-named temporary file in the target's own folder (so the rename cannot cross
a filesystem and our own watcher ignores it), is fsynced, renamed over the final name, and the
folder is fsynced so the rename itself survives power loss. Order of effects for one input:
sidecar first, then the image moves; a crash in between leaves the image in the inbox and the
journal says "processing", so the restart rewrites the same sidecar and finishes the move.

Every input ends in exactly one place with one explanation: when the image cannot be placed
after its sidecar was written, the sidecar is taken back; a failure removes any success sidecar
an earlier attempt left. Output names are kept within the folder's NAME_MAX: a name that would
not fit is stored under a shortened one (recorded in the sidecar as ``stored_as``).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

from ..fileio import atomic_write, fsync_dir, temp_prefix

SIDE_SUFFIX, ERROR_SUFFIX, TEXT_SUFFIX = ".json", ".error.json", ".txt"
PDF_SUFFIX = ".ocr.pdf"  # the searchable PDF (daemon.write_pdf): scan.pdf -> scan.pdf.ocr.pdf
MOVING_SUFFIX = "moving.tmp"
# An extension longer than this is not one (``a.<200 characters>``): shortening keeps it whole.
MAX_EXT_BYTES = 16


def moving_temp(dst: Path) -> Path:
    """The fixed temporary name of a copy across file systems (a restart must find it)."""
    return dst.parent / (temp_prefix(dst.name) + MOVING_SUFFIX)


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
    # a crash before the unlink leaves the source, which the journal resumes. Any error undoes
    # what was done, so the file is in one place only: the inbox.
    temp = moving_temp(dst)
    try:
        if src.is_symlink():
            if temp.is_symlink() or temp.exists():
                temp.unlink()
            os.symlink(os.readlink(src), temp)
        else:
            shutil.copy2(src, temp, follow_symlinks=False)
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(temp, dst)
    except BaseException:
        _unlink_quietly([temp])
        raise
    try:
        os.unlink(src)
    except BaseException:
        _unlink_quietly([dst])  # the source stays (read-only inbox): the copy must not stay too
        raise


def _unlink_quietly(paths: Iterable[Path]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        except OSError:
            continue
        try:
            fsync_dir(path.parent)
        except OSError:
            pass


def dumps(document: dict[str, Any]) -> bytes:
    try:
        return (json.dumps(document, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A name that is not UTF-8 (surrogate-escaped bytes): \udcXX escapes keep the file valid
        # JSON and the name lossless (os.fsencode of the parsed string gives the bytes back).
        return (json.dumps(document, ensure_ascii=True) + "\n").encode("ascii")


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            loaded = json.load(handle)
        return loaded if isinstance(loaded, dict) else None
    except (OSError, ValueError):
        return None


def name_max(folder: Path) -> int:
    """The longest file name ``folder``'s file system allows, in bytes (255 on most)."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def fits(name: str, limit: int) -> bool:
    return len(os.fsencode(name)) <= limit


def shortened(name: str, number: int, limit: int) -> str:
    """``name`` (``stem.N.ext`` from ``number`` 1 on) within ``limit`` bytes. A name too long is cut
    and tagged with a hash of the whole name, so two long names that share a start stay apart."""
    pure = PurePosixPath(name)
    stem, ext = pure.stem, pure.suffix
    if len(os.fsencode(ext)) > MAX_EXT_BYTES:
        stem, ext = name, ""
    counter = f".{number}" if number else ""
    plain = f"{stem}{counter}{ext}"
    if fits(plain, limit):
        return plain
    tag = "~" + hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    raw = os.fsencode(stem)
    room = max(1, limit - len(os.fsencode(tag + counter + ext)))
    while 0 < room < len(raw) and (raw[room] & 0xC0) == 0x80:
        room -= 1  # do not cut a UTF-8 character in half
    return os.fsdecode(raw[:room]) + tag + counter + ext


class Outputs:
    """Where an input's results go, for one set of folders and one mode."""

    def __init__(self, inbox: Path, processed: Path, failed: Path, mode: str, write_text: bool) -> None:
        self.inbox, self.processed, self.failed = inbox, processed, failed
        self.mode, self.write_text = mode, write_text
        self._name_max: dict[Path, int] = {}

    def name_limit(self, root: Path) -> int:
        """Bytes an image name may have under ``root`` so that its longest sidecar name still fits."""
        if root not in self._name_max:
            self._name_max[root] = name_max(root)
        longest = ERROR_SUFFIX if root == self.failed else SIDE_SUFFIX
        return self._name_max[root] - len(longest)

    def choose_dest(self, root: Path, rel: str) -> str:
        """``rel`` under ``root``, or ``name.N.ext`` when an earlier file of that name is there, or
        a shortened name when ``rel``'s (or its sidecar's) would be longer than the file system allows."""
        if self.mode == "in-place" and root == self.processed:
            return rel
        pure = PurePosixPath(rel)
        limit = self.name_limit(root)
        number = 0
        while True:
            candidate = pure.with_name(shortened(pure.name, number, limit))
            if not self._taken(root / candidate):
                return candidate.as_posix()
            number += 1

    def name_fits_in_place(self, rel: str) -> bool:
        """In-place mode keeps the image's name: can its sidecar exist beside it?"""
        return fits(PurePosixPath(rel).name, self.name_limit(self.inbox))

    @staticmethod
    def _taken(path: Path) -> bool:
        return any(os.path.lexists(str(path) + suffix) for suffix in ("", SIDE_SUFFIX, ERROR_SUFFIX))

    def success_paths(self, dest: str) -> tuple[Path, Path]:
        """(where the image ends up, its sidecar)."""
        root = self.inbox if self.mode == "in-place" else self.processed
        image = root / dest
        return image, Path(str(image) + SIDE_SUFFIX)

    def write_success(self, rel: str, dest: str, document: dict[str, Any], pdf: bytes | None = None) -> Path:
        image, sidecar = self.success_paths(dest)
        source = self.inbox / rel
        written: list[Path] = []
        try:
            if pdf is not None:  # like the text: before the sidecar, which says "complete"
                pdf_path = Path(str(image) + PDF_SUFFIX)
                written.append(pdf_path)
                atomic_write(pdf_path, pdf)
            if self.write_text:  # before the sidecar: consumers take the JSON as "this one is complete"
                text = document.get("text") or ""
                text_path = Path(str(image) + TEXT_SUFFIX)
                written.append(text_path)
                atomic_write(text_path, (text + "\n" if text else "").encode("utf-8"))
            written.append(sidecar)
            atomic_write(sidecar, dumps(document))
            if self.mode == "move":
                move_file(source, image)
        except OSError:
            # The image could not be placed (no room on processed/'s file system, say): take the
            # sidecar back, or processed/ would announce a success that failed/ contradicts.
            if self.mode == "in-place" or os.path.lexists(source):
                _unlink_quietly(written)
            raise
        return sidecar

    def discard_success(self, dest: str) -> None:
        """Remove the sidecar (and text) an earlier attempt wrote for ``dest``: the input is failing."""
        image, sidecar = self.success_paths(dest)
        _unlink_quietly([sidecar, Path(str(image) + TEXT_SUFFIX), Path(str(image) + PDF_SUFFIX)])

    def write_failure(self, rel: str, dest: str, report: dict[str, Any]) -> Path:
        """Failures leave the inbox in both modes: a bad file must not sit there forever."""
        image = self.failed / dest
        error_path = Path(str(image) + ERROR_SUFFIX)
        atomic_write(error_path, dumps(report))
        try:
            move_file(self.inbox / rel, image)
        except OSError:
            if os.path.lexists(self.inbox / rel):
                _unlink_quietly([error_path])  # the file stays in the inbox; so does its explanation
            raise
        return error_path

    def temporaries(self, image: Path) -> list[Path]:
        """Temporary files an interrupted write may have left for ``image`` and its sidecars
        (today's bounded names, and the name-derived ones of earlier versions)."""
        try:
            names = os.listdir(image.parent)
        except OSError:
            return []
        targets = [image.name] + [image.name + suffix for suffix in (SIDE_SUFFIX, TEXT_SUFFIX, ERROR_SUFFIX, PDF_SUFFIX)]
        prefixes = tuple(temp_prefix(target) for target in targets) + tuple(f".{target}." for target in targets[1:])
        legacy_moving = f".{image.name}.moving.tmp"
        return [image.parent / name for name in names
                if (name.startswith(prefixes) and name.endswith(".tmp")) or name == legacy_moving]
