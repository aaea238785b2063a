"""Model packs: loading, checksum verification and refusals that name the pack, the file and the problem."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper

from edgeocr.errors import ModelPackError
from edgeocr.packs import find_pack_dir, list_packs, load_pack, sha256_file
from edgeocr.runtime import create_session

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "en-latin-v1"
CHARSET = ["a", "b", " ", "c", "€"]


def tiny_recognizer(path: Path, classes: int) -> None:
    """images [N, 1, 32, W] -> mean over height -> per-column class scores -> probs [W, N, classes]."""
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 1, 32, "W"])
    probs = helper.make_tensor_value_info("probs", TensorProto.FLOAT, [None, None, classes])
    weights = helper.make_tensor("weights", TensorProto.FLOAT, [1, classes],
                                 np.linspace(-1, 1, classes, dtype=np.float32).tolist())
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["columns"], axes=[1, 2], keepdims=0),   # [N, W]
        helper.make_node("Transpose", ["columns"], ["by_time"], perm=[1, 0]),              # [W, N]
        helper.make_node("Unsqueeze", ["by_time", "last"], ["expanded"]),                  # [W, N, 1]
        helper.make_node("Mul", ["expanded", "weights"], ["logits"]),                      # [W, N, C]
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    last = helper.make_tensor("last", TensorProto.INT64, [1], [2])
    graph = helper.make_graph(nodes, "tiny-crnn", [images], [probs], initializer=[weights, last])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_pack(root: Path, name: str = "tiny-v1", charset_text: str | None = None,
              change: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """A complete, valid pack folder; ``change`` edits pack.yaml's data before it is written."""
    pack = root / name
    pack.mkdir(parents=True)
    tiny_recognizer(pack / "rec.onnx", len(CHARSET) + 1)
    (pack / "rec.small.onnx").write_bytes((pack / "rec.onnx").read_bytes())
    text = charset_text if charset_text is not None else "".join(c + "\n" for c in CHARSET)
    (pack / "charset.txt").write_text(text, encoding="utf-8")
    data: dict[str, Any] = {
        "name": name,
        "version": "1.0.0",
        "license": "Apache-2.0",
        "trained_on": "nothing at all",
        "files": {f: {"sha256": digest(pack / f)} for f in ("rec.onnx", "rec.small.onnx", "charset.txt")},
        "recognizer": {"type": "crnn-ctc", "model": "rec.onnx", "charset": "charset.txt", "input_height": 32,
                       "max_width": 512, "width_stride": 4, "blank_index": 0, "variants": {"small": "rec.small.onnx"}},
        "detector": {"type": "classical", "model": None},
        "metrics": {"cer": 0.01},
    }
    if change is not None:
        change(data)
    (pack / "pack.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return pack


def pack_error(directory: Path, verify: bool = True) -> str:
    with pytest.raises(ModelPackError) as caught:
        load_pack(directory, verify=verify)
    assert caught.value.code == "bad_model_pack"
    return caught.value.message


# --- a good pack ----------------------------------------------------------------------------------


def test_a_valid_pack_loads(tmp_path):
    directory = make_pack(tmp_path)
    pack = load_pack(directory)
    assert pack.name == "tiny-v1" and pack.version == "1.0.0" and pack.license == "Apache-2.0"
    assert pack.trained_on == "nothing at all"
    assert pack.root == directory
    assert set(pack.files) == {"rec.onnx", "rec.small.onnx", "charset.txt"}
    assert pack.files["rec.onnx"] == digest(directory / "rec.onnx")
    assert pack.recognizer.type == "crnn-ctc"
    assert (pack.recognizer.input.height, pack.recognizer.input.max_width, pack.recognizer.input.channels) == (32, 512, 1)
    assert pack.detector.type == "classical" and pack.detector.model is None
    assert pack.metrics == {"cer": 0.01}
    assert pack.charset() == CHARSET


def test_recognizer_model_and_variants(tmp_path):
    pack = load_pack(make_pack(tmp_path))
    assert pack.recognizer_model() == tmp_path / "tiny-v1" / "rec.onnx"
    assert pack.recognizer_model("default") == pack.recognizer_model()
    assert pack.recognizer_model("small") == tmp_path / "tiny-v1" / "rec.small.onnx"
    with pytest.raises(ModelPackError) as caught:
        pack.recognizer_model("huge")
    assert "huge" in caught.value.message and "small" in caught.value.message


def test_the_packs_model_opens_in_onnx_runtime(tmp_path):
    pack = load_pack(make_pack(tmp_path))
    session = create_session(pack.recognizer_model(), threads=1)
    (out,) = session.run(None, {"images": np.zeros((2, 1, 32, 20), np.float32)})
    assert out.shape == (20, 2, len(pack.charset()) + 1)
    assert np.allclose(out.sum(axis=-1), 1.0, atol=1e-5)


def test_numeric_version_is_kept_as_text(tmp_path):
    pack = load_pack(make_pack(tmp_path, change=lambda d: d.update(version=2)))
    assert pack.version == "2"


def test_files_may_be_listed_as_plain_hashes(tmp_path):
    def plain(data: dict) -> None:
        data["files"] = {name: entry["sha256"] for name, entry in data["files"].items()}
    assert load_pack(make_pack(tmp_path, change=plain)).files["charset.txt"] == digest(tmp_path / "tiny-v1" / "charset.txt")


def test_sha256_file_matches_hashlib(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 10000)  # more than one read block
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


# --- charset --------------------------------------------------------------------------------------


def test_a_line_holding_a_single_space_is_the_space_character(tmp_path):
    pack = load_pack(make_pack(tmp_path, charset_text="a\n \nb\n"))
    assert pack.charset() == ["a", " ", "b"]


def test_charset_without_final_newline(tmp_path):
    pack = load_pack(make_pack(tmp_path, charset_text="x\ny\n \nz"))
    assert pack.charset() == ["x", "y", " ", "z"]


def test_an_empty_charset_is_refused(tmp_path):
    message = pack_error(make_pack(tmp_path, charset_text=""))
    assert "charset.txt" in message and "empty" in message


# --- damaged, missing, malformed ------------------------------------------------------------------


def test_a_changed_byte_is_damage_named_with_pack_and_file(tmp_path):
    directory = make_pack(tmp_path)
    model = directory / "rec.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    message = pack_error(directory)
    assert "tiny-v1" in message and "rec.onnx" in message and "damaged" in message
    assert "rec.small.onnx" not in message


def test_damage_is_not_checked_when_verification_is_off(tmp_path):
    directory = make_pack(tmp_path)
    (directory / "rec.small.onnx").write_bytes(b"changed")
    assert "damaged" in pack_error(directory)
    assert load_pack(directory, verify=False).name == "tiny-v1"


def test_a_missing_file_is_named(tmp_path):
    directory = make_pack(tmp_path)
    (directory / "charset.txt").unlink()
    message = pack_error(directory)
    assert "tiny-v1" in message and "charset.txt" in message and "missing" in message
    # Missing is reported even when hashes are not checked.
    assert "missing" in pack_error(directory, verify=False)


def test_a_folder_in_place_of_a_file_is_missing(tmp_path):
    directory = make_pack(tmp_path)
    (directory / "rec.small.onnx").unlink()
    (directory / "rec.small.onnx").mkdir()
    message = pack_error(directory)
    assert "rec.small.onnx" in message and "missing" in message


@pytest.mark.parametrize("section, key", [
    (None, "name"), (None, "license"), (None, "files"), (None, "recognizer"), (None, "detector"),
    ("recognizer", "model"), ("recognizer", "charset"), ("recognizer", "type"), ("detector", "type"),
])
def test_a_missing_key_is_named(tmp_path, section, key):
    def drop(data: dict) -> None:
        (data[section] if section else data).pop(key)
    message = pack_error(make_pack(tmp_path, change=drop))
    assert f"missing key '{key}'" in message
    assert "pack.yaml" in message


def test_a_key_of_the_wrong_type_is_named(tmp_path):
    message = pack_error(make_pack(tmp_path, change=lambda d: d["recognizer"].update(input_height="32")))
    assert "input_height" in message and "int" in message
    message = pack_error(make_pack(tmp_path / "b", change=lambda d: d["recognizer"].update(max_width=True)))
    assert "max_width" in message


@pytest.mark.parametrize("version", [None, [1, 0]])
def test_a_version_of_the_wrong_type_is_named(tmp_path, version):
    message = pack_error(make_pack(tmp_path, change=lambda d: d.update(version=version)))
    assert "version" in message


def test_file_names_may_not_leave_the_pack(tmp_path):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"not part of the pack")

    def escape(data: dict) -> None:
        data["files"]["../outside.bin"] = {"sha256": digest(outside)}  # exists, and the hash is right
    message = pack_error(make_pack(tmp_path, change=escape))
    assert "../outside.bin" in message and "leaves the pack folder" in message


def test_absolute_file_names_are_refused(tmp_path):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"not part of the pack")
    message = pack_error(make_pack(tmp_path, change=lambda d: d["files"].update({str(outside): digest(outside)})))
    assert "leaves the pack folder" in message


def test_a_model_used_but_not_listed_is_refused(tmp_path):
    message = pack_error(make_pack(tmp_path, change=lambda d: d["files"].pop("rec.small.onnx")))
    assert "rec.small.onnx" in message and "not listed" in message


def test_a_db_detector_needs_a_model(tmp_path):
    message = pack_error(make_pack(tmp_path, change=lambda d: d.update(detector={"type": "db", "model": None})))
    assert "db detector needs a model" in message


def test_a_db_detector_with_its_model_loads(tmp_path):
    def with_db(data: dict) -> None:
        data["detector"] = {"type": "db", "model": "rec.small.onnx", "settings": {"threshold": 0.3}}
    pack = load_pack(make_pack(tmp_path, change=with_db))
    assert pack.detector.type == "db" and pack.detector.model == "rec.small.onnx"
    assert pack.detector.settings == {"threshold": 0.3}


@pytest.mark.parametrize("change, words", [
    (lambda d: d["detector"].update(type="east"), ["east", "classical, db"]),
    (lambda d: d["recognizer"].update(type="transformer"), ["transformer", "crnn-ctc"]),
    (lambda d: d["recognizer"].update(blank_index=5), ["blank_index"]),
    (lambda d: d["recognizer"].update(space_threshold=1.5), ["space_threshold", "1.5"]),
    (lambda d: d["recognizer"].update(space_threshold="high"), ["space_threshold", "'high'"]),
])
def test_unsupported_settings_are_refused(tmp_path, change, words):
    message = pack_error(make_pack(tmp_path, change=change))
    for word in words:
        assert word in message


def test_the_space_threshold_defaults_to_off_and_is_read(tmp_path):
    assert load_pack(make_pack(tmp_path / "a")).recognizer.space_threshold == 0.0
    pack = load_pack(make_pack(tmp_path / "b", change=lambda d: d["recognizer"].update(space_threshold=0.25)))
    assert pack.recognizer.space_threshold == 0.25


def test_invalid_yaml_and_non_mapping_are_refused(tmp_path):
    directory = make_pack(tmp_path)
    (directory / "pack.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    assert "not valid YAML" in pack_error(directory)
    (directory / "pack.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    assert "mapping" in pack_error(directory)


def test_a_folder_without_pack_yaml_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    message = pack_error(tmp_path / "empty")
    assert "empty" in message and "pack.yaml" in message


# --- finding packs --------------------------------------------------------------------------------


def test_find_pack_by_name_and_by_path(tmp_path):
    directory = make_pack(tmp_path)
    assert find_pack_dir("tiny-v1", str(tmp_path)) == directory
    assert find_pack_dir(str(directory)) == directory
    with pytest.raises(ModelPackError, match="not found"):
        find_pack_dir("nope", str(tmp_path))
    with pytest.raises(ModelPackError):
        find_pack_dir(str(tmp_path / "nope" / "deeper"))


def test_list_packs(tmp_path):
    make_pack(tmp_path, name="b-pack")
    make_pack(tmp_path, name="a-pack")
    (tmp_path / "not-a-pack").mkdir()
    assert [p.name for p in list_packs(str(tmp_path))] == ["a-pack", "b-pack"]


# --- the shipped pack -----------------------------------------------------------------------------


def test_the_shipped_pack_verifies():
    if not (SHIPPED / "pack.yaml").is_file():
        pytest.skip("models/en-latin-v1 is not in this checkout")
    pack = load_pack(SHIPPED)
    assert pack.name == "en-latin-v1"
    for name, expected in pack.files.items():
        assert sha256_file(SHIPPED / name) == expected
    charset = pack.charset()
    assert " " in charset and "A" in charset and "0" in charset
    assert len(charset) == len(set(charset))
    assert all(len(c) == 1 for c in charset)
    assert pack.recognizer_model().is_file()
    for variant in pack.recognizer.variants:
        assert pack.recognizer_model(variant).is_file()


def test_a_charset_that_does_not_fit_the_models_classes_is_refused_at_start_naming_both(tmp_path):
    from edgeocr.cli import main

    # two more characters than the model has classes for: a charset from another model
    pack = make_pack(tmp_path / "models", charset_text="".join(c + "\n" for c in CHARSET + ["x", "y"]))
    with pytest.raises(ModelPackError, match=r"rec\.onnx with charset\.txt: the model has 6 classes but the charset has 7"):
        from edgeocr.config import Config, EngineConfig
        from edgeocr.engine import Engine

        Engine(Config(engine=EngineConfig(pack=str(pack), threads=1)))
    import io

    err = io.StringIO()
    code = main(["ocr", "--pack", str(pack), str(tmp_path / "missing.png")], stdin=io.BytesIO(), stdout=io.StringIO(),
                stderr=err)
    assert code == 78 and "charset.txt" in err.getvalue() and "rec.onnx" in err.getvalue()


def test_the_shipped_default_pack_verifies_and_says_what_it_changed():
    pack = load_pack(SHIPPED.parent / "ppocrv6-small")
    assert pack.scripts == ("latin", "han") and pack.classifier is not None
    assert len(pack.charset()) == 18709 and pack.charset()[-1] == " "
    provenance = pack.provenance
    assert set(provenance["modified_by_edgeocr"]) == {
        name for variants in (pack.detector.variants, pack.recognizer.variants, pack.classifier.variants)
        for key, name in variants.items() if key != "fp32"}
    notice = pack.path("NOTICE").read_text("utf-8")
    assert "int8" in notice.lower() or "modified" in notice.lower()
