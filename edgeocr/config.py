"""Configuration: YAML loaded once into frozen dataclasses, validated with messages naming key and file.

Every key has a default, so an empty file (or none) is a valid configuration. Unknown keys are
errors: a misspelt key silently ignored is a setting the user believes in and does not have.
"""
from __future__ import annotations

import dataclasses
import math
import os
import site
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from .errors import ConfigError


@dataclass(frozen=True)
class PreprocessConfig:
    """Image clean-up before detection; each step can be switched on alone."""

    grayscale: bool | None = None
    clahe: bool = False
    clahe_clip_limit: float = 2.0
    denoise: bool = False
    denoise_strength: float = 7.0
    sharpen: bool = False
    adaptive_threshold: bool = False
    adaptive_block_size: int = 31

    def validate(self, where: str) -> None:
        if self.adaptive_block_size < 3 or self.adaptive_block_size % 2 == 0:
            raise ConfigError(f"{where}.adaptive_block_size: must be an odd number >= 3, got {self.adaptive_block_size}")
        if self.clahe_clip_limit <= 0:
            raise ConfigError(f"{where}.clahe_clip_limit: must be > 0")


@dataclass(frozen=True)
class EngineConfig:
    pack: str = "ppocrv6-small"
    models_dir: str | None = None
    threads: int | None = None
    max_pixels: int = 40_000_000
    max_bytes: int = 50 * 1024 * 1024
    detector: Literal["auto", "db", "classical"] = "auto"
    beam_width: int = 0
    batch_size: int | None = None
    min_confidence: float = 0.0
    verify_checksums: bool = True
    orientation: bool = True
    split_gap: float = 1.0
    max_pages: int = 500  # pages of one PDF; more is refused from the header (a PDF bomb)
    # Which of the pack's model variants to run (pack.yaml ``variants``; null: the pack's default).
    # bench/arm64_check.py sweeps them; the README says which ones read the same on ARM.
    recognizer_variant: str | None = None
    detector_variant: str | None = None
    classifier_variant: str | None = None
    # Our own CRNN reads the lines it is sure of and the pack's recognizer the rest (cascade.py);
    # the threshold is the fast pack's calibrated one unless set here.
    fast_path: bool = False
    fast_path_pack: str = "en-latin-v2"
    fast_path_threshold: float | None = None

    def validate(self, where: str) -> None:
        if not 1 <= self.max_pages <= 100_000:
            raise ConfigError(f"{where}.max_pages: must be between 1 and 100000, got {self.max_pages}")
        for part in ("recognizer", "detector", "classifier"):
            variant = getattr(self, f"{part}_variant")
            if variant is not None and not variant.strip():
                raise ConfigError(f"{where}.{part}_variant: must be a variant name from the pack's pack.yaml or null")
        if self.threads is not None and not 1 <= self.threads <= 64:
            raise ConfigError(f"{where}.threads: must be between 1 and 64, got {self.threads}")
        if self.max_pixels < 1:
            raise ConfigError(f"{where}.max_pixels: must be positive")
        if self.max_bytes < 1:
            raise ConfigError(f"{where}.max_bytes: must be positive")
        if self.beam_width < 0:
            raise ConfigError(f"{where}.beam_width: must be >= 0 (0 means greedy decoding)")
        if self.batch_size is not None and not 1 <= self.batch_size <= 256:
            raise ConfigError(f"{where}.batch_size: must be between 1 and 256")
        if not 0.0 <= self.split_gap <= 100.0:
            raise ConfigError(f"{where}.split_gap: must be between 0 (off) and 100 line heights, got {self.split_gap}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f"{where}.min_confidence: must be between 0 and 1")
        if self.fast_path_threshold is not None and not 0.0 <= self.fast_path_threshold <= 1.0:
            raise ConfigError(f"{where}.fast_path_threshold: must be between 0 and 1 or null (the fast pack's own)")
        if not self.fast_path_pack.strip():
            raise ConfigError(f"{where}.fast_path_pack: must name a pack (en-latin-v2)")

    def variants(self) -> tuple[str | None, str | None, str | None]:
        """(recognizer, detector, classifier) variants, in Engine()'s argument order."""
        return self.recognizer_variant, self.detector_variant, self.classifier_variant

    def resolved_threads(self) -> int:
        """Configured threads, or the cores this process may use, capped at 4."""
        if self.threads:
            return self.threads
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
        return max(1, min(cores, 4))


@dataclass(frozen=True)
class WebConfig:
    """The HTTP API and page (``edgeocr serve``, and ``edgeocr run`` when ``enabled``)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 6
    jobs: int = 1
    queue_size: int = 4
    retry_after_seconds: int = 2
    max_body_bytes: int = 20 * 1024 * 1024
    max_batch_images: int = 16
    token: str | None = None
    cache_entries: int = 64
    channel_timeout_seconds: int = 30
    request_timeout_seconds: float = 60.0
    max_connections: int = 100
    allowed_hosts: tuple[str, ...] = ()
    uncertain_below: float | None = None

    def validate(self, where: str) -> None:
        if not self.host:
            raise ConfigError(f"{where}.host: must not be empty")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"{where}.port: must be between 0 and 65535, got {self.port}")
        if not 1 <= self.jobs <= 64:
            raise ConfigError(f"{where}.jobs: must be between 1 and 64, got {self.jobs}")
        if not 0 <= self.queue_size <= 1000:
            raise ConfigError(f"{where}.queue_size: must be between 0 and 1000, got {self.queue_size}")
        # Jobs and waiting requests each hold a server thread; one more must stay free to answer
        # 503 (and /health) at once, or excess requests would pile up inside the server instead.
        if not self.jobs + self.queue_size + 1 <= self.threads <= 256:
            raise ConfigError(f"{where}.threads: must be at least {where}.jobs + {where}.queue_size + 1 "
                              f"= {self.jobs + self.queue_size + 1} (and at most 256), got {self.threads}")
        if self.retry_after_seconds < 1:
            raise ConfigError(f"{where}.retry_after_seconds: must be >= 1")
        if self.max_body_bytes < 1:
            raise ConfigError(f"{where}.max_body_bytes: must be positive")
        if not 1 <= self.max_batch_images <= 256:
            raise ConfigError(f"{where}.max_batch_images: must be between 1 and 256, got {self.max_batch_images}")
        if self.token is not None and len(self.token) < 8:
            raise ConfigError(f"{where}.token: must be at least 8 characters (or null for no token)")
        if self.cache_entries < 0:
            raise ConfigError(f"{where}.cache_entries: must be >= 0 (0 turns the cache off)")
        if self.channel_timeout_seconds < 1:
            raise ConfigError(f"{where}.channel_timeout_seconds: must be >= 1")
        # `not a <= x <= b` is also true for NaN, so these refuse .nan as well as .inf.
        if not 1.0 <= self.request_timeout_seconds <= 3600.0:
            raise ConfigError(f"{where}.request_timeout_seconds: must be between 1 and 3600, "
                              f"got {self.request_timeout_seconds}")
        if not 8 <= self.max_connections <= 10_000:
            raise ConfigError(f"{where}.max_connections: must be between 8 and 10000, got {self.max_connections}")
        if self.uncertain_below is not None and not 0.0 <= self.uncertain_below <= 1.0:
            raise ConfigError(f"{where}.uncertain_below: must be between 0 and 1 (or null), got {self.uncertain_below}")
        for index, name in enumerate(self.allowed_hosts):
            if not name.strip() or any(c in name for c in " /@"):
                raise ConfigError(f"{where}.allowed_hosts[{index}]: must be a host name, an address or *, got {name!r}")


# Our own output names and sync tools' temporary files: never inputs (see daemon/inbox.py).
DEFAULT_IGNORE = ("*.part", "*.tmp", "*.crdownload", "*~", "~$*", "Thumbs.db", "desktop.ini",
                  "@eaDir", "__MACOSX")


# The folder keys: no default, because a daemon that silently creates and watches a system
# folder nobody chose is worse than one that refuses to start (``edgeocr watch`` says which flags).
FOLDER_KEYS = ("inbox", "processed", "failed", "state_dir")

# Upper bounds for the daemon's durations: beyond them a setting is a typo (or .inf), and a file
# would wait for ever (seconds).
DAEMON_DURATION_LIMITS = {"settle_seconds": (0.0, 3600.0), "rescan_seconds": (0.0, 86400.0),
                          "poll_interval_seconds": (0.0, 3600.0), "retry_base_seconds": (0.0, 86400.0),
                          "retry_max_seconds": (0.0, 7 * 86400.0)}


@dataclass(frozen=True)
class DaemonConfig:
    """The watched inbox (``edgeocr watch`` / ``edgeocr run``).

    Relative folder paths are resolved against the working directory at start (systemd's
    ``WorkingDirectory=``, Docker's ``WORKDIR``); absolute paths are recommended. The folders have
    no default: ``watch`` and ``run`` refuse to start until they are given (file or flags).
    """

    inbox: str | None = None
    processed: str | None = None
    failed: str | None = None
    state_dir: str | None = None
    mode: Literal["move", "in-place"] = "move"
    write_text: bool = False
    write_pdf: bool = False  # a searchable PDF (the input pages plus an invisible text layer) beside the sidecar
    settle_seconds: float = 2.0
    rescan_seconds: float = 60.0
    observer: Literal["inotify", "polling"] = "inotify"
    poll_interval_seconds: float = 2.0
    workers: int = 1
    queue_size: int = 64
    max_attempts: int = 5
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 600.0
    cache_entries: int = 256
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    # redis:// or rediss:// URL of the broker that sends jobs to ``edgeocr worker``s; empty: local threads.
    broker: str = ""

    def validate(self, where: str) -> None:
        for key in FOLDER_KEYS:
            if getattr(self, key) is not None and not getattr(self, key).strip():
                raise ConfigError(f"{where}.{key}: must be a folder path or null, got an empty string")
        if not 0 <= self.settle_seconds <= DAEMON_DURATION_LIMITS["settle_seconds"][1]:
            raise ConfigError(f"{where}.settle_seconds: must be between 0 and 3600, got {self.settle_seconds}")
        for key, (_, top) in DAEMON_DURATION_LIMITS.items():
            if key != "settle_seconds" and not 0 < getattr(self, key) <= top:
                raise ConfigError(f"{where}.{key}: must be > 0 and at most {top:g}, got {getattr(self, key)}")
        if self.retry_max_seconds < self.retry_base_seconds:
            raise ConfigError(f"{where}.retry_max_seconds: must be >= {where}.retry_base_seconds "
                              f"({self.retry_base_seconds}), got {self.retry_max_seconds}")
        if not 1 <= self.workers <= 64:
            raise ConfigError(f"{where}.workers: must be between 1 and 64, got {self.workers}")
        if not 1 <= self.queue_size <= 100_000:
            raise ConfigError(f"{where}.queue_size: must be between 1 and 100000, got {self.queue_size}")
        if not 1 <= self.max_attempts <= 100:
            raise ConfigError(f"{where}.max_attempts: must be between 1 and 100, got {self.max_attempts}")
        if not 0 <= self.cache_entries <= 1_000_000:
            raise ConfigError(f"{where}.cache_entries: must be between 0 (off) and 1000000, got {self.cache_entries}")
        if self.broker and not self.broker.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"{where}.broker: must be empty (local worker threads) or a redis://, rediss:// or "
                              f"unix:// URL, got {self.broker!r}")


@dataclass(frozen=True)
class ClusterConfig:
    """Jobs sent through Redis Streams (``daemon.broker``) to ``edgeocr worker`` processes."""

    visibility_timeout_seconds: float = 30.0  # a job unanswered this long by a live worker goes to another
    job_timeout_seconds: float = 600.0        # the job's deadline: the dispatcher then retries the file
    heartbeat_seconds: float = 5.0            # a worker's key lives 3 heartbeats
    max_worker_failures: int = 3              # workers that raised on one job before it goes to failed/
    key_prefix: str = "edgeocr"

    def validate(self, where: str) -> None:
        for key, top in (("visibility_timeout_seconds", 86400), ("job_timeout_seconds", 86400),
                         ("heartbeat_seconds", 3600)):
            if not 0 < getattr(self, key) <= top:
                raise ConfigError(f"{where}.{key}: must be > 0 and at most {top}, got {getattr(self, key)}")
        if not 1 <= self.max_worker_failures <= 100:
            raise ConfigError(f"{where}.max_worker_failures: must be between 1 and 100, got {self.max_worker_failures}")
        if not self.key_prefix or any(c in self.key_prefix for c in " {}*?"):
            raise ConfigError(f"{where}.key_prefix: must be a non-empty name without spaces, braces or wildcards, "
                              f"got {self.key_prefix!r}")


@dataclass(frozen=True)
class StdinSourceConfig:
    """Frames piped into stdin (``rpicam-vid --codec mjpeg -o - | edgeocr stream``)."""

    enabled: bool = False
    mode: Literal["single", "mjpeg"] = "mjpeg"
    max_frame_bytes: int = 8 * 1024 * 1024

    def validate(self, where: str) -> None:
        if not 1024 <= self.max_frame_bytes <= 1024 ** 3:
            raise ConfigError(f"{where}.max_frame_bytes: must be between 1024 and 1073741824, got {self.max_frame_bytes}")


@dataclass(frozen=True)
class CameraSourceConfig:
    """An OpenCV ``VideoCapture``: a device index ("0"), a stream URL or a video file path."""

    enabled: bool = False
    device: str = "0"
    interval_seconds: float = 2.0
    min_change: float = 0.1
    reconnect_seconds: float = 30.0

    def validate(self, where: str) -> None:
        if not self.device.strip():
            raise ConfigError(f"{where}.device: must not be empty (a device index such as 0, a URL or a path)")
        if self.interval_seconds < 0:
            raise ConfigError(f"{where}.interval_seconds: must be >= 0, got {self.interval_seconds}")
        if not 0 <= self.min_change <= 100:
            raise ConfigError(f"{where}.min_change: must be between 0 and 100 (percent of the frame), got {self.min_change}")
        if self.reconnect_seconds <= 0:
            raise ConfigError(f"{where}.reconnect_seconds: must be > 0, got {self.reconnect_seconds}")


@dataclass(frozen=True)
class SourcesConfig:
    """Frame sources (camera, stdin) whose results go out as JSON lines."""

    stdin: StdinSourceConfig = field(default_factory=StdinSourceConfig)
    camera: CameraSourceConfig = field(default_factory=CameraSourceConfig)
    output: str = "-"
    save_frames_dir: str | None = None

    def validate(self, where: str) -> None:
        if not self.output:
            raise ConfigError(f"{where}.output: must be - (stdout) or a file path")
        if self.save_frames_dir is not None and not self.save_frames_dir:
            raise ConfigError(f"{where}.save_frames_dir: must be null or a folder path")


@dataclass(frozen=True)
class PdfConfig:
    """PDF input: how pages are rendered, whether an existing text layer is trusted."""

    # Render resolution; null picks it from the pack's recognizer line height (see pdf_input.auto_dpi).
    dpi: int | None = None
    use_text_layer: bool = False

    def validate(self, where: str) -> None:
        if self.dpi is not None and not 50 <= self.dpi <= 1200:
            raise ConfigError(f"{where}.dpi: must be null (automatic) or between 50 and 1200, got {self.dpi}")


@dataclass(frozen=True)
class Config:
    engine: EngineConfig = field(default_factory=EngineConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    web: WebConfig = field(default_factory=WebConfig)
    pdf: PdfConfig = field(default_factory=PdfConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    source: str = "<defaults>"
    # (dotted key, where its value came from) for the keys not set by ``source``, e.g.
    # ("daemon.inbox", "--inbox"): errors found later (at start, at reload) name the real origin.
    origins: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def origin(self, dotted: str) -> str:
        """Where the value of ``dotted`` (``"daemon.inbox"``) came from: a flag, or the file."""
        return dict(self.origins).get(dotted, self.source)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str, source: str) -> Any:
    # YAML reads .nan and .inf as floats; no duration, count or ratio of ours means either, and
    # every range check compares false against nan (settle_seconds: .nan took no file, ever).
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{source}: {key}: must be a finite number, got {value}")
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _coerce(value, option, key, source)
            except ConfigError as exc:
                errors.append(exc)
        raise ConfigError(f"{source}: {key}: expected {_type_name(tp)}, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{source}: {key}: expected null, got {value!r}")
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise ConfigError(f"{source}: {key}: expected {_type_name(tp)}, got {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: {key}: expected a list, got {value!r}")
        inner = typing.get_args(tp)[0]
        return tuple(_coerce(v, inner, f"{key}[{i}]", source) for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key, source)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    raise ConfigError(f"{source}: {key}: expected {_type_name(tp)}, got {value!r}")


def _build(cls: type, data: Any, prefix: str, source: str, origins: dict[str, str] | None = None) -> Any:
    origins = origins or {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origins.get(prefix, source)}: {prefix or 'top level'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.name not in ("source", "origins")}
    for key in data:
        if key not in known:
            where = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError(f"{origins.get(where, source)}: unknown key '{where}' (known: {', '.join(sorted(known))})")
    values = {}
    for name in known:
        if name in data:
            dotted = f"{prefix}.{name}" if prefix else name
            tp = hints[name]
            if dataclasses.is_dataclass(tp):
                values[name] = _build(tp, data[name], dotted, source, origins)
            else:
                values[name] = _coerce(data[name], tp, dotted, origins.get(dotted, source))
    instance = cls(**values)
    validate = getattr(instance, "validate", None)
    if validate is not None:
        try:
            validate(prefix)
        except ConfigError as exc:
            # Messages start with the dotted key they are about ("daemon.workers: ..."): name the
            # place that value came from, a flag or the file.
            key = exc.message.split(":", 1)[0]
            raise ConfigError(f"{origins.get(key, source)}: {exc.message}") from None
    return instance


def config_from_dict(data: dict | None, source: str = "<dict>", origins: dict[str, str] | None = None) -> Config:
    config = _build(Config, data or {}, "", source, origins)
    return dataclasses.replace(config, source=source, origins=tuple(sorted((origins or {}).items())))


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load and validate a YAML file; ``None`` gives the defaults."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return config_from_dict(data, str(path))


def with_overrides(config: Config, overrides: dict[str, Any], origins: dict[str, str] | None = None) -> Config:
    """Apply dotted-key overrides (``{"engine.threads": 2}``) and validate the result again.

    ``origins`` names where each override came from (``{"daemon.inbox": "--inbox"}``; default
    "command-line override"), so that an error names the flag and not the config file.
    """
    data = dataclasses.asdict(config)
    data.pop("source")
    data.pop("origins")
    merged = dict(config.origins)
    for dotted, value in overrides.items():
        origin = (origins or {}).get(dotted, "command-line override")
        node = data
        parts = dotted.split(".")
        for part in parts[:-1]:
            if part not in node or not isinstance(node[part], dict):
                raise ConfigError(f"{origin}: unknown key '{dotted}'")
            node = node[part]
        if parts[-1] not in node or isinstance(node[parts[-1]], dict):
            raise ConfigError(f"{origin}: unknown key '{dotted}'")
        node[parts[-1]] = value
        merged[dotted] = origin
    return config_from_dict(data, config.source, merged)


def default_config_path() -> Path | None:
    """The shipped default config: the checkout's ``config/`` or the installed copy."""
    for candidate in (Path(__file__).resolve().parent.parent / "config" / "edgeocr.yaml",
                      Path(sys.prefix) / "share" / "edgeocr" / "config" / "edgeocr.yaml",
                      Path(site.USER_BASE or "~/.local").expanduser() / "share" / "edgeocr" / "config" / "edgeocr.yaml"):
        if candidate.is_file():
            return candidate
    return None
