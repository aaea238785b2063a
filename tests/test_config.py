from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from edgeocr.config import Config, EngineConfig, load_config, with_overrides
from edgeocr.errors import ConfigError

SHIPPED = Path(__file__).resolve().parent.parent / "config" / "edgeocr.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edgeocr.yaml"
    path.write_text(text)
    return path


def test_shipped_config_is_the_defaults():
    assert dataclasses.replace(load_config(SHIPPED), source="<defaults>") == Config()


def test_empty_file_gives_defaults(tmp_path):
    assert load_config(write(tmp_path, "")).engine == EngineConfig()


@pytest.mark.parametrize("text, key", [
    ("engine:\n  treads: 2\n", "engine.treads"),
    ("engnie:\n  threads: 2\n", "engnie"),
    ("preprocess:\n  clahe_limit: 3\n", "preprocess.clahe_limit"),
])
def test_unknown_keys_name_key_and_file(tmp_path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"unknown key '{key}'" in caught.value.message
    assert str(path) in caught.value.message


@pytest.mark.parametrize("text, key", [
    ("engine:\n  threads: many\n", "engine.threads"),
    ("engine:\n  max_pixels: true\n", "engine.max_pixels"),
    ("engine:\n  detector: tesseract\n", "engine.detector"),
    ("engine:\n  threads: 0\n", "engine.threads"),
    ("engine:\n  beam_width: -1\n", "engine.beam_width"),
    ("preprocess:\n  adaptive_block_size: 30\n", "preprocess.adaptive_block_size"),
    ("engine: 5\n", "engine"),
])
def test_bad_values_name_key_and_file(tmp_path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert key in caught.value.message and str(path) in caught.value.message


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "engine: [unclosed\n"))


def test_overrides_are_validated_like_the_file(tmp_path):
    config = load_config(write(tmp_path, "engine:\n  threads: 2\n"))
    assert with_overrides(config, {"engine.beam_width": 4}).engine.beam_width == 4
    with pytest.raises(ConfigError, match="engine.nope"):
        with_overrides(config, {"engine.nope": 1})
    with pytest.raises(ConfigError, match="engine.threads"):
        with_overrides(config, {"engine.threads": 100})


def test_config_is_frozen_and_threads_resolve():
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.engine.threads = 3  # type: ignore[misc]
    assert 1 <= EngineConfig().resolved_threads() <= 4
    assert EngineConfig(threads=3).resolved_threads() == 3
