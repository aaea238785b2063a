"""The ``sources`` config section: defaults, the shipped YAML, validation naming the dotted key."""
from __future__ import annotations

import pytest

from edgeocr.config import CameraSourceConfig, Config, SourcesConfig, StdinSourceConfig, config_from_dict, load_config
from edgeocr.errors import ConfigError


def test_defaults_keep_sources_off_and_print_to_stdout():
    sources = Config().sources
    assert sources == SourcesConfig()
    assert sources.stdin == StdinSourceConfig(enabled=False, mode="mjpeg", max_frame_bytes=8 * 1024 * 1024)
    assert sources.camera == CameraSourceConfig(enabled=False, device="0", interval_seconds=2.0, min_change=0.1,
                                                reconnect_seconds=30.0)
    assert sources.output == "-" and sources.save_frames_dir is None


def test_values_are_read_from_yaml(tmp_path):
    path = tmp_path / "edgeocr.yaml"
    path.write_text("sources:\n  stdin: {enabled: true, mode: single}\n"
                    "  camera: {device: rtsp://cam/stream, interval_seconds: 0, min_change: 5}\n"
                    "  output: /var/log/frames.jsonl\n  save_frames_dir: /srv/frames\n")
    sources = load_config(path).sources
    assert sources.stdin.enabled and sources.stdin.mode == "single"
    assert sources.camera.device == "rtsp://cam/stream"
    assert sources.camera.interval_seconds == 0.0 and sources.camera.min_change == 5.0
    assert sources.output == "/var/log/frames.jsonl" and sources.save_frames_dir == "/srv/frames"


@pytest.mark.parametrize("data, key", [
    ({"stdin": {"mode": "h264"}}, "sources.stdin.mode"),
    ({"stdin": {"max_frame_bytes": 10}}, "sources.stdin.max_frame_bytes"),
    ({"camera": {"device": " "}}, "sources.camera.device"),
    ({"camera": {"device": 0}}, "sources.camera.device"),  # quoted in YAML: "0"
    ({"camera": {"interval_seconds": -1}}, "sources.camera.interval_seconds"),
    ({"camera": {"min_change": 101}}, "sources.camera.min_change"),
    ({"camera": {"min_change": -1}}, "sources.camera.min_change"),
    ({"camera": {"reconnect_seconds": 0}}, "sources.camera.reconnect_seconds"),
    ({"camera": {"fps": 5}}, "sources.camera.fps"),
    ({"output": ""}, "sources.output"),
    ({"save_frames_dir": ""}, "sources.save_frames_dir"),
])
def test_bad_values_name_the_key(data, key):
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"sources": data}, "test.yaml")
    assert key in caught.value.message and "test.yaml" in caught.value.message
