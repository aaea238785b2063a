"""The PP-OCRv6 pack import: hash checks that refuse a wrong wheel, and a rebuild that gives the
shipped files back.

The wheel here is assembled by the test from the upstream files the shipped pack holds, in the
layout of ``rapidocr-3.10.0-py3-none-any.whl`` (CI has no business downloading 20 MB from PyPI
on every run; the real download is what ``python -m edgeocr.pack_import`` does by default).
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from edgeocr import pack_import
from edgeocr.errors import ModelPackError
from edgeocr.packs import load_pack, sha256_file

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "ppocrv6-small"


def make_wheel(path: Path, replace: dict[str, bytes] | None = None, licences: str | None = None) -> Path:
    replace = replace or {}
    with zipfile.ZipFile(path, "w") as wheel:
        for member, _ in pack_import.MODELS.values():
            name = Path(member).name
            wheel.writestr(member, replace.get(name) or (SHIPPED / name).read_bytes())
        wheel.writestr(pack_import.LICENSE_MEMBER, (SHIPPED / "LICENSE").read_bytes())
        wheel.writestr(pack_import.MODEL_LICENSES_MEMBER,
                       licences if licences is not None else (SHIPPED / "MODEL_LICENSES.md").read_text("utf-8"))
        wheel.writestr("rapidocr/__init__.py", "")
    return path


def test_the_wheels_own_record_agrees_with_our_pins():
    recorded = pack_import.recorded_hashes((SHIPPED / "MODEL_LICENSES.md").read_text("utf-8"))
    for member, pinned in pack_import.MODELS.values():
        assert recorded[Path(member).name] == pinned


def test_a_rebuild_from_the_wheel_gives_the_shipped_upstream_files_and_charset(tmp_path):
    out = tmp_path / "ppocrv6-small"
    pack_import.import_pack(out, make_wheel(tmp_path / "rapidocr.whl"), int8=False, log=lambda *_: None)
    for member, pinned in pack_import.MODELS.values():
        assert sha256_file(out / Path(member).name) == pinned == sha256_file(SHIPPED / Path(member).name)
    assert (out / "charset.txt").read_bytes() == (SHIPPED / "charset.txt").read_bytes()
    charset = (out / "charset.txt").read_text("utf-8").split("\n")[:-1]
    assert len(charset) == pack_import.CHARSET_ENTRIES + 1 and charset[-1] == " "
    notice = (out / "NOTICE").read_text("utf-8")
    assert "PaddleOCR" in notice and "Apache" in (out / "LICENSE").read_text("utf-8")
    pack = load_pack(out)
    assert pack.license == "Apache-2.0" and pack.scripts == ("latin", "han")


def test_a_model_that_does_not_match_the_pin_is_refused_and_nothing_is_written(tmp_path):
    det = Path(pack_import.MODELS["det"][0]).name
    tampered = bytearray((SHIPPED / det).read_bytes())
    tampered[-1] ^= 0xFF
    out = tmp_path / "pack"
    with pytest.raises(ModelPackError, match=f"{det} has sha256 .*edgeocr pins"):
        pack_import.import_pack(out, make_wheel(tmp_path / "bad.whl", {det: bytes(tampered)}), int8=False)
    assert not list(out.glob("*.onnx")) and not (out / "pack.yaml").exists()


def test_a_wheel_whose_licence_record_disagrees_is_refused(tmp_path):
    rec = Path(pack_import.MODELS["rec"][0]).name
    record = (SHIPPED / "MODEL_LICENSES.md").read_text("utf-8").replace(pack_import.MODELS["rec"][1], "0" * 64)
    with pytest.raises(ModelPackError, match=f"MODEL_LICENSES.md records {'0' * 64} for {rec}"):
        pack_import.import_pack(tmp_path / "pack", make_wheel(tmp_path / "bad.whl", licences=record), int8=False)


def test_something_that_is_not_a_wheel_is_refused(tmp_path):
    fake = tmp_path / "rapidocr.whl"
    fake.write_bytes(b"not a zip")
    with pytest.raises(ModelPackError, match="not a readable wheel"):
        pack_import.import_pack(tmp_path / "pack", fake, int8=False)


def test_the_command_exits_78_with_the_reason(tmp_path, capsys):
    fake = tmp_path / "rapidocr.whl"
    fake.write_bytes(b"not a zip")
    assert pack_import.main(["--wheel", str(fake), "--out", str(tmp_path / "pack"), "--no-int8"]) == 78
    assert "not a readable wheel" in capsys.readouterr().err
