from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from edgeocr.errors import ModelPackError
from edgeocr.packs import find_pack_dir, load_pack

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "en-latin-v1"


@pytest.fixture
def pack_copy(tmp_path) -> Path:
    target = tmp_path / "en-latin-v1"
    shutil.copytree(SHIPPED, target)
    return target


def edit_yaml(pack: Path, change) -> None:
    data = yaml.safe_load((pack / "pack.yaml").read_text())
    change(data)
    (pack / "pack.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))


def test_shipped_pack_verifies():
    pack = load_pack(SHIPPED)
    assert pack.name == "en-latin-v1"
    charset = pack.charset()
    assert " " in charset and "A" in charset and "€" in charset
    assert len(charset) == len(set(charset))
    assert pack.recognizer_model("fp32").is_file()


def test_damaged_file_is_named(pack_copy):
    model = pack_copy / "rec.int8.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelPackError, match=r"pack en-latin-v1: file rec.int8.onnx is damaged"):
        load_pack(pack_copy)


def test_missing_file_is_named(pack_copy):
    (pack_copy / "charset.txt").unlink()
    with pytest.raises(ModelPackError, match="file charset.txt is missing"):
        load_pack(pack_copy)


def test_missing_key_is_named(pack_copy):
    edit_yaml(pack_copy, lambda d: d["recognizer"].pop("input_height"))
    with pytest.raises(ModelPackError, match="missing key 'input_height'"):
        load_pack(pack_copy)


def test_paths_may_not_leave_the_pack(pack_copy):
    edit_yaml(pack_copy, lambda d: d["files"].update({"../outside.onnx": {"sha256": "0" * 64}}))
    with pytest.raises(ModelPackError, match="leaves the pack folder"):
        load_pack(pack_copy)


def test_db_detector_needs_a_model(pack_copy):
    edit_yaml(pack_copy, lambda d: d.update({"detector": {"type": "db", "model": None}}))
    with pytest.raises(ModelPackError, match="db detector needs a model"):
        load_pack(pack_copy)


def test_unlisted_file_in_use_is_refused(pack_copy):
    edit_yaml(pack_copy, lambda d: d["files"].pop("rec.fp32.onnx"))
    with pytest.raises(ModelPackError, match="rec.fp32.onnx is used but not listed"):
        load_pack(pack_copy)


def test_find_pack_by_name_and_path(pack_copy, tmp_path):
    assert find_pack_dir("en-latin-v1", str(tmp_path)) == pack_copy
    assert find_pack_dir(str(pack_copy)) == pack_copy
    with pytest.raises(ModelPackError, match="not found"):
        find_pack_dir("nope", str(tmp_path))
