"""Refuse requests a browser was tricked into sending: a foreign Host (DNS rebinding) or a
state-changing request from another site's page (cross-site form posts).

Without ``web.token`` anything that can reach the port may use the API, which is the point on a
loopback or LAN device; but a web page on the internet can reach it too, through the browser of
whoever opens that page. Two checks close that door and leave curl and our own page alone:

* ``Host`` must name this server: an IP address (a rebinding page always uses a domain name),
  ``localhost`` or a name under ``.localhost``, ``web.host``, or one of ``web.allowed_hosts``
  (``*`` turns the check off). Otherwise 421 ``host_not_allowed``.
* A POST (or other state-changing method) that carries ``Origin`` must come from the origin
  the request is addressed to; ``Origin: null`` and ``Sec-Fetch-Site: cross-site`` are refused
  too. Otherwise 403 ``cross_site_request``. Requests without ``Origin`` (curl, scripts) pass.
"""
from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from ..result import error_dict

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_TYPE = "application/json; charset=utf-8"


def split_host(value: str) -> str:
    """The host name of a ``Host`` header value, lower case, without port or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    def __init__(self, bound_host: str, allowed_hosts: Iterable[str]) -> None:
        names = {split_host(name) for name in allowed_hosts}
        self.any_host = "*" in names
        self.names = (names - {"*"}) | {"localhost", split_host(bound_host)}

    def allows(self, host_header: str) -> bool:
        if self.any_host or not host_header:
            return True  # HTTP/1.0 without Host cannot be a browser's rebinding request
        name = split_host(host_header).rstrip(".")
        return name in self.names or name.endswith(".localhost") or _is_address(name)


def cross_site_reason(environ: dict) -> str | None:
    """Why a state-changing request looks sent by another site's page, or None when it does not."""
    if environ.get("REQUEST_METHOD", "GET").upper() in SAFE_METHODS:
        return None
    if environ.get("HTTP_SEC_FETCH_SITE", "").strip().lower() == "cross-site":
        return "the browser says this request comes from another site (Sec-Fetch-Site: cross-site)"
    origin = environ.get("HTTP_ORIGIN")
    if origin is None:
        return None
    origin = origin.strip()
    if origin.lower() == "null":
        return "the request comes from an opaque origin (Origin: null)"
    parts = urlsplit(origin)
    own = environ.get("HTTP_HOST", "").strip().lower()
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != own:
        return f"Origin {origin} is not this server ({own or 'no Host'})"
    return None


class RequestGuard:
    """WSGI wrapper: the Host check on every request, the Origin check on state-changing ones."""

    def __init__(self, app: Callable, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST", "")
        if not self.policy.allows(host):
            return _refuse(start_response, "421 Misdirected Request", "host_not_allowed",
                           f"Host {host!r} is not a name of this server; add it to web.allowed_hosts to allow it")
        reason = cross_site_reason(environ)
        if reason is not None:
            return _refuse(start_response, "403 Forbidden", "cross_site_request",
                           f"{reason}; cross-site requests are refused (use the page on this server, or curl)")
        return self.app(environ, start_response)


def _refuse(start_response: Callable, status: str, code: str, message: str) -> list[bytes]:
    body = json.dumps(error_dict(code, message)).encode()
    start_response(status, [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body)))])
    return [body]
