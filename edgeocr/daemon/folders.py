"""The daemon's four folders: given (there are no defaults), absolute, apart, created, and the
state folder locked, so that one daemon owns one journal and inbox."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..config import Config
from ..errors import ConfigError

FOLDER_FLAGS = {"inbox": "--inbox", "processed": "--processed", "failed": "--failed", "state_dir": "--state-dir"}


def used_folders(config: Config) -> tuple[str, ...]:
    """The folder keys this mode reads or writes (in-place mode writes beside the inputs)."""
    if config.daemon.mode == "in-place":
        return ("inbox", "failed", "state_dir")
    return ("inbox", "processed", "failed", "state_dir")


def resolve_folders(config: Config, command: str = "edgeocr watch") -> dict[str, Path]:
    """The folders as absolute paths, checked to be given and apart: no output may feed back into
    the inbox, and no folder may hold another (the state folder under processed/ would be
    collected with the results; an inbox under failed/ would read refused files again)."""
    daemon = config.daemon
    keys = used_folders(config)
    missing = [key for key in keys if getattr(daemon, key) is None]
    if missing:
        flags = " ".join(f"{FOLDER_FLAGS[key]} DIR" for key in keys)
        raise ConfigError(
            f"{config.source}: no folder given for {', '.join('daemon.' + key for key in missing)}; "
            f"edgeocr does not pick system folders on its own. Name them on the command line:\n"
            f"  {command} {flags}\n"
            f"or set daemon.{', daemon.'.join(keys)} in the config file given with --config")
    folders = {key: Path(os.path.abspath(os.path.expanduser(getattr(daemon, key)))) for key in keys}
    real = {key: Path(os.path.realpath(path)) for key, path in folders.items()}
    for index, outer in enumerate(keys):
        for inner in keys[index + 1:]:
            for a, b in ((outer, inner), (inner, outer)):
                if real[a] == real[b] or real[b] in real[a].parents:
                    relation = "is the same folder as" if real[a] == real[b] else "lies inside"
                    raise ConfigError(
                        f"{config.origin('daemon.' + a)}: daemon.{a}: {folders[a]} {relation} daemon.{b} "
                        f"({folders[b]}, from {config.origin('daemon.' + b)}); the folders must be apart, or "
                        "outputs would be read back as inputs")
    for key, path in folders.items():
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{config.origin('daemon.' + key)}: daemon.{key}: cannot create {path}: "
                              f"{exc.strerror}") from None
    if "processed" not in folders:  # in-place: the sidecars go beside the images
        folders["processed"] = folders["inbox"]
    return folders


def lock_state_dir(state_dir: Path, source: str) -> int:
    """Hold an exclusive lock on the state folder: two daemons on one journal and inbox would
    take the same files (a second ``edgeocr watch`` started by hand beside the service)."""
    fd = os.open(state_dir / "daemon.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise ConfigError(f"{source}: daemon.state_dir: {state_dir} is in use by another edgeocr daemon "
                          f"(pid {holder})") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
