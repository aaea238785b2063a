"""systemd's notify protocol (sd_notify(3)) in a few lines of our own: no library to keep updated.

The whole protocol is one datagram of ``KEY=VALUE`` lines sent to the unix socket named in
``$NOTIFY_SOCKET`` (a leading ``@`` means the abstract namespace). Outside systemd the variable
is unset and every call is a cheap no-op, so callers never need to ask where they run.

    notify("READY=1")                 # after the config is valid and the models are loaded
    notify("WATCHDOG=1")              # every watchdog_interval() seconds while healthy
    notify("STATUS=3 files queued")   # shown by systemctl status
    notify("STOPPING=1")              # on SIGTERM
"""
from __future__ import annotations

import os
import socket


def _address() -> str | None:
    path = os.environ.get("NOTIFY_SOCKET", "")
    if path.startswith("@"):
        return "\0" + path[1:]
    if path.startswith("/"):
        return path
    return None  # unset, or a transport we do not speak (vsock:)


def notify(state: str) -> bool:
    """Send ``state`` to systemd; True when it was sent. Never raises: a lost status line must
    not take the daemon down (systemd itself treats the protocol as best effort)."""
    address = _address()
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
        return True
    except (OSError, UnicodeError, ValueError):
        return False


def watchdog_interval() -> float | None:
    """Seconds between ``WATCHDOG=1`` pings (half of ``WatchdogSec=``), or None when the watchdog
    is off or meant for another process (``$WATCHDOG_PID`` names a different PID)."""
    pid = os.environ.get("WATCHDOG_PID")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    return usec / 2 / 1_000_000
