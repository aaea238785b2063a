"""Moves and sidecars on real files; failures leave no partial output behind (atomic writes: tests/test_fileio.py)."""
from __future__ import annotations

from edgeocr.daemon.outputs import Outputs, move_file


def test_move_keeps_a_symlink_a_symlink(tmp_path):
    (tmp_path / "target.png").write_bytes(b"data")
    (tmp_path / "link.png").symlink_to(tmp_path / "target.png")
    move_file(tmp_path / "link.png", tmp_path / "out" / "link.png")
    assert (tmp_path / "out" / "link.png").is_symlink()
    assert (tmp_path / "target.png").read_bytes() == b"data"


def test_destinations_do_not_overwrite_earlier_files(tmp_path):
    folders = Outputs(tmp_path / "in", tmp_path / "processed", tmp_path / "failed", "move", False)
    assert folders.choose_dest(folders.processed, "a/b.jpg") == "a/b.jpg"
    (tmp_path / "processed" / "a").mkdir(parents=True)
    (tmp_path / "processed" / "a" / "b.jpg.json").write_text("{}")
    assert folders.choose_dest(folders.processed, "a/b.jpg") == "a/b.1.jpg"
    (tmp_path / "processed" / "a" / "b.1.jpg").write_text("x")
    assert folders.choose_dest(folders.processed, "a/b.jpg") == "a/b.2.jpg"


def test_success_writes_sidecar_text_then_moves(tmp_path):
    inbox = tmp_path / "in"
    (inbox / "s").mkdir(parents=True)
    (inbox / "s" / "a.png").write_bytes(b"img")
    folders = Outputs(inbox, tmp_path / "processed", tmp_path / "failed", "move", write_text=True)
    sidecar = folders.write_success("s/a.png", "s/a.png", {"success": True, "text": "HELLO"})
    assert sidecar == tmp_path / "processed" / "s" / "a.png.json"
    assert (tmp_path / "processed" / "s" / "a.png").read_bytes() == b"img"
    assert (tmp_path / "processed" / "s" / "a.png.txt").read_text() == "HELLO\n"
    assert not (inbox / "s" / "a.png").exists()
