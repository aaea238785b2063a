"""``--detector`` offers what the installed packs have, and says so when a value is not among them."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

import edgeocr.packs
from edgeocr import cli

MODELS = Path(__file__).resolve().parents[1] / "models"


def test_a_detector_no_installed_pack_has_is_refused_naming_the_choices(tmp_path, monkeypatch, capsys):
    only_classical = tmp_path / "models"
    only_classical.mkdir()
    (only_classical / "en-latin-v1").symlink_to(MODELS / "en-latin-v1")
    monkeypatch.setattr(edgeocr.packs, "default_models_dirs", lambda: [only_classical])
    image = tmp_path / "a.png"
    image.write_bytes(b"unused")
    with pytest.raises(SystemExit) as exited:
        cli.main(["ocr", "--pack", "en-latin-v1", "--detector", "db", str(image)], stdout=io.StringIO())
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "invalid choice: 'db'" in error and "'auto', 'classical'" in error and "'db'" not in error.split("choose")[1]


def test_the_help_names_the_packs_behind_each_detector(capsys):
    with pytest.raises(SystemExit):
        cli.main(["ocr", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{auto,classical,db}" in text and "db (pack ppocrv6-small)" in text
