"""Configuration: defaults, the shipped file, validation messages naming key and file, overrides."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from edgeocr.config import Config, EngineConfig, PreprocessConfig, config_from_dict, load_config, with_overrides
from edgeocr.errors import ConfigError

SHIPPED = Path(__file__).resolve().parent.parent / "config" / "edgeocr.yaml"


def write(tmp_path: Path, text: str, name: str = "edgeocr.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.code == "bad_config"
    return caught.value


# --- defaults -------------------------------------------------------------------------------------


def test_no_file_gives_the_defaults():
    config = load_config(None)
    assert config == Config()
    assert config.source == "<defaults>"
    assert config.engine.pack == "ppocrv6-small"
    assert config.engine.threads is None
    assert config.engine.max_pixels == 40_000_000
    assert config.engine.detector == "auto"
    assert config.engine.beam_width == 0
    # None: each model gets the channels its pack asks for (3 for PP-OCR, 1 for the CRNN).
    assert config.preprocess.grayscale is None
    assert config.preprocess.adaptive_threshold is False
    assert config.preprocess.adaptive_block_size == 31


def test_shipped_config_is_the_defaults():
    assert SHIPPED.is_file()
    config = load_config(SHIPPED)
    assert config.source == str(SHIPPED)
    assert dataclasses.replace(config, source="<defaults>") == Config()


@pytest.mark.parametrize("text", ["", "# only a comment\n", "engine:\n", "engine: {}\npreprocess: {}\n"])
def test_empty_files_and_sections_give_defaults(tmp_path, text):
    path = write(tmp_path, text)
    config = load_config(path)
    assert config.engine == EngineConfig()
    assert config.preprocess == PreprocessConfig()
    assert config.source == str(path)


def test_values_are_read(tmp_path):
    path = write(tmp_path, "engine:\n  threads: 2\n  detector: db\n  beam_width: 5\n"
                           "preprocess:\n  clahe: true\n  clahe_clip_limit: 3\n  adaptive_block_size: 15\n")
    config = load_config(path)
    assert config.engine.threads == 2
    assert config.engine.detector == "db"
    assert config.engine.beam_width == 5
    assert config.preprocess.clahe is True
    # An int where a float is expected is accepted and stored as a float.
    assert config.preprocess.clahe_clip_limit == 3.0 and isinstance(config.preprocess.clahe_clip_limit, float)
    assert config.preprocess.adaptive_block_size == 15
    # Untouched keys keep their defaults.
    assert config.engine.max_bytes == EngineConfig().max_bytes
    assert config.preprocess.denoise is False


# --- unknown keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, key", [
    ("engnie:\n  threads: 2\n", "engnie"),                       # top level
    ("verbose: true\n", "verbose"),                              # top level, scalar
    ("source: x.yaml\n", "source"),                              # internal field, not a key
    ("engine:\n  treads: 2\n", "engine.treads"),                 # nested
    ("preprocess:\n  clahe_limit: 3\n", "preprocess.clahe_limit"),
])
def test_unknown_keys_name_the_dotted_key_and_the_file(tmp_path, text, key):
    path = write(tmp_path, text)
    error = load_error(path)
    assert f"unknown key '{key}'" in error.message
    assert str(path) in error.message


def test_unknown_key_message_lists_the_known_ones(tmp_path):
    error = load_error(write(tmp_path, "engine:\n  treads: 2\n"))
    assert "threads" in error.message and "beam_width" in error.message


# --- wrong types and ranges -----------------------------------------------------------------------


@pytest.mark.parametrize("text, key, expected", [
    ("engine:\n  threads: many\n", "engine.threads", "int"),            # string for int
    ("engine:\n  max_pixels: '1000'\n", "engine.max_pixels", "int"),    # quoted number is a string
    ("engine:\n  max_pixels: true\n", "engine.max_pixels", "int"),      # bool for int
    ("engine:\n  beam_width: 2.5\n", "engine.beam_width", "int"),       # float for int
    ("engine:\n  detector: foo\n", "engine.detector", "'classical'"),   # not one of the Literal's values
    ("engine:\n  verify_checksums: 1\n", "engine.verify_checksums", "bool"),
    ("engine:\n  pack: 5\n", "engine.pack", "str"),
    ("engine:\n  models_dir: [a]\n", "engine.models_dir", "str"),
    ("preprocess:\n  clahe_clip_limit: high\n", "preprocess.clahe_clip_limit", "float"),
    ("preprocess:\n  clahe: yes please\n", "preprocess.clahe", "bool"),
])
def test_wrong_types_name_key_file_and_type(tmp_path, text, key, expected):
    path = write(tmp_path, text)
    error = load_error(path)
    assert key in error.message
    assert str(path) in error.message
    assert expected in error.message


@pytest.mark.parametrize("text, key", [
    ("engine:\n  threads: 0\n", "engine.threads"),
    ("engine:\n  threads: 65\n", "engine.threads"),
    ("engine:\n  beam_width: -1\n", "engine.beam_width"),
    ("engine:\n  max_pixels: 0\n", "engine.max_pixels"),
    ("engine:\n  batch_size: 0\n", "engine.batch_size"),
    ("engine:\n  min_confidence: 1.5\n", "engine.min_confidence"),
    ("preprocess:\n  adaptive_block_size: 30\n", "preprocess.adaptive_block_size"),
    ("preprocess:\n  adaptive_block_size: 1\n", "preprocess.adaptive_block_size"),
    ("preprocess:\n  clahe_clip_limit: 0\n", "preprocess.clahe_clip_limit"),
])
def test_out_of_range_values_name_key_and_file(tmp_path, text, key):
    path = write(tmp_path, text)
    error = load_error(path)
    assert key in error.message
    assert str(path) in error.message


@pytest.mark.parametrize("text, where", [
    ("engine: 5\n", "engine"),
    ("preprocess: [clahe]\n", "preprocess"),
    ("- engine\n- preprocess\n", "top level"),
])
def test_sections_must_be_mappings(tmp_path, text, where):
    path = write(tmp_path, text)
    error = load_error(path)
    assert where in error.message and "mapping" in error.message
    assert str(path) in error.message


def test_boundary_values_are_accepted(tmp_path):
    config = load_config(write(tmp_path, "engine:\n  threads: 1\n  beam_width: 0\n  min_confidence: 1\n"
                                         "preprocess:\n  adaptive_block_size: 3\n"))
    assert config.engine.threads == 1
    assert config.engine.min_confidence == 1.0
    assert config.preprocess.adaptive_block_size == 3


# --- unreadable files -----------------------------------------------------------------------------


def test_missing_file_names_the_file(tmp_path):
    path = tmp_path / "absent.yaml"
    error = load_error(path)
    assert str(path) in error.message
    assert "not found" in error.message


def test_invalid_yaml_names_the_file(tmp_path):
    path = write(tmp_path, "engine: [unclosed\n  threads: 2\n")
    error = load_error(path)
    assert str(path) in error.message
    assert "not valid YAML" in error.message


def test_a_folder_is_not_a_config_file(tmp_path):
    folder = tmp_path / "config.d"
    folder.mkdir()
    error = load_error(folder)
    assert str(folder) in error.message


# --- overrides ------------------------------------------------------------------------------------


def test_overrides_apply_and_keep_the_rest(tmp_path):
    path = write(tmp_path, "engine:\n  threads: 2\n")
    config = load_config(path)
    changed = with_overrides(config, {"engine.beam_width": 4, "preprocess.clahe": True})
    assert changed.engine.beam_width == 4
    assert changed.preprocess.clahe is True
    assert changed.engine.threads == 2          # from the file
    assert changed.source == str(path)
    assert config.engine.beam_width == 0        # the original is untouched
    assert with_overrides(config, {}) == config


@pytest.mark.parametrize("dotted", ["engine.nope", "nope.threads", "engine", "engine.threads.deeper", "source"])
def test_overrides_reject_unknown_dotted_keys(dotted):
    with pytest.raises(ConfigError) as caught:
        with_overrides(Config(), {dotted: 1})
    assert dotted in caught.value.message


def test_overrides_are_validated_like_the_file():
    with pytest.raises(ConfigError, match="engine.threads"):
        with_overrides(Config(), {"engine.threads": 100})
    with pytest.raises(ConfigError, match="engine.detector"):
        with_overrides(Config(), {"engine.detector": "tesseract"})
    with pytest.raises(ConfigError, match="preprocess.adaptive_block_size"):
        with_overrides(Config(), {"preprocess.adaptive_block_size": 8})


def test_config_from_dict_names_its_source():
    config = config_from_dict({"engine": {"threads": 3}}, source="--set")
    assert config.engine.threads == 3 and config.source == "--set"
    with pytest.raises(ConfigError, match="--set"):
        config_from_dict({"engine": {"threads": "x"}}, source="--set")


# --- frozen and threads ---------------------------------------------------------------------------


def test_configs_are_frozen():
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.engine.threads = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.engine = EngineConfig(threads=3)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.preprocess.clahe = True  # type: ignore[misc]
    assert config.engine.threads is None


def test_resolved_threads_caps_at_four(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(32)), raising=False)
    assert EngineConfig().resolved_threads() == 4
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert EngineConfig().resolved_threads() == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5}, raising=False)
    assert EngineConfig().resolved_threads() == 1


def test_resolved_threads_without_affinity_uses_cpu_count(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 12)
    assert EngineConfig().resolved_threads() == 4
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert EngineConfig().resolved_threads() == 1


def test_resolved_threads_honours_an_explicit_value(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert EngineConfig(threads=3).resolved_threads() == 3
    assert EngineConfig(threads=8).resolved_threads() == 8   # explicit beats the cap of 4


# --- finite numbers, ranges, origins (issue 12) ----------------------------------------------------


@pytest.mark.parametrize("key", ["settle_seconds", "retry_base_seconds", "retry_max_seconds", "rescan_seconds",
                                 "poll_interval_seconds"])
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_durations_must_be_finite(tmp_path, key, value):
    # nan compared false with every bound: settle_seconds: .nan used to be accepted and take no file.
    path = write(tmp_path, f"daemon:\n  {key}: {value}\n")
    error = load_error(path)
    assert f"daemon.{key}: must be a finite number" in error.message and str(path) in error.message


def test_other_floats_must_be_finite_too(tmp_path):
    error = load_error(write(tmp_path, "sources:\n  camera:\n    interval_seconds: .nan\n"))
    assert "sources.camera.interval_seconds: must be a finite number" in error.message


@pytest.mark.parametrize("text, key", [("settle_seconds: 1.0e+300", "daemon.settle_seconds"),
                                       ("retry_base_seconds: 100000", "daemon.retry_base_seconds"),
                                       ("rescan_seconds: 1.0e+9", "daemon.rescan_seconds"),
                                       ("retry_base_seconds: 10\n  retry_max_seconds: 5", "daemon.retry_max_seconds"),
                                       ("cache_entries: 100000000", "daemon.cache_entries"),
                                       ("inbox: ''", "daemon.inbox")])
def test_daemon_values_out_of_range(tmp_path, text, key):
    error = load_error(write(tmp_path, f"daemon:\n  {text}\n"))
    assert key in error.message


def test_a_bad_override_names_its_flag_not_the_file(tmp_path):
    path = write(tmp_path, "daemon:\n  workers: 2\n")
    with pytest.raises(ConfigError) as caught:
        with_overrides(load_config(path), {"daemon.settle_seconds": float("nan")},
                       {"daemon.settle_seconds": "--set daemon.settle_seconds=.nan"})
    assert caught.value.message.startswith("--set daemon.settle_seconds=.nan: daemon.settle_seconds:")
    assert str(path) not in caught.value.message
    with pytest.raises(ConfigError) as caught:
        with_overrides(load_config(path), {"daemon.workers": 0}, {"daemon.workers": "--workers"})
    assert caught.value.message.startswith("--workers: daemon.workers:")


def test_origins_are_kept_for_later_checks(tmp_path):
    path = write(tmp_path, "daemon:\n  failed: /srv/failed\n")
    config = with_overrides(load_config(path), {"daemon.inbox": "/srv/in"}, {"daemon.inbox": "--inbox"})
    assert config.origin("daemon.inbox") == "--inbox" and config.origin("daemon.failed") == str(path)
    again = with_overrides(config, {"engine.threads": 2})  # a second round keeps the first's origins
    assert again.origin("daemon.inbox") == "--inbox" and again.origin("engine.threads") == "command-line override"
    assert again == dataclasses.replace(again, origins=())  # origins do not make configs unequal


def test_folders_have_no_default():
    daemon = Config().daemon
    assert (daemon.inbox, daemon.processed, daemon.failed, daemon.state_dir) == (None, None, None, None)
    assert load_config(SHIPPED).daemon.inbox is None
