"""The Bottle app: routes, JSON errors for everything (404/405/500 included), auth and metrics.

Routes only translate HTTP to engine calls: every image goes through the one shared ``Engine``
(``engine.run``), repeats come from the shared ``ResultCache``, and admission bounds the jobs.
"""
from __future__ import annotations

import functools
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bottle

from .. import __version__
from ..cache import ResultCache, content_key
from ..config import Config
from ..engine import Engine, OcrOptions
from ..errors import EdgeOcrError
from ..pdf_input import is_pdf
from ..pdf_output import searchable_pdf
from ..result import error_dict
from .guard import HostPolicy, RequestGuard
from .limits import Admission, Busy
from .metrics import Metrics
from .openapi import build_openapi
from .uploads import ApiError, Upload, parse_options, read_images

log = logging.getLogger("edgeocr.web")
# One line per answered request (serve and run): who, what, status, size, time.
access_log = logging.getLogger("edgeocr.web.access")

STATIC_DIR = Path(__file__).resolve().parent / "static"
JSON_TYPE = "application/json; charset=utf-8"
# The engine's codes, as HTTP: bad input is the client's (400); too many pixels is well-formed but
# refused on its content (422), kept apart from 413, which is about the request body's size.
STATUS_OF_CODE = {"bad_image": 400, "bad_request": 400, "file_unreadable": 400, "image_too_large": 422,
                  "pdf_encrypted": 422, "pdf_broken": 400, "too_many_pages": 422, "pdf_output_failed": 500}
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    # The page loads nothing from elsewhere (the device is often offline) and shows previews as blob: URLs.
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'"),
)


@dataclass
class WebState:
    """What the routes share: built once per server, safe to use from every server thread."""

    engine: Engine
    config: Config
    cache: ResultCache
    admission: Admission
    # OCR runs on these few threads (web.jobs), never on the server's request threads: glibc gives
    # each thread that mallocs its own arena, and ONNX Runtime's buffers spread over every server
    # thread measured 338 MiB RSS against 125 MiB on one thread (same 300 requests).
    runner: ThreadPoolExecutor
    metrics: Metrics = field(default_factory=Metrics)
    extra_health: Callable[[], dict] | None = None
    extra_metrics: Callable[[], list[str]] | None = None  # more Prometheus lines (the cluster's gauges)
    started: float = field(default_factory=time.monotonic)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> bottle.HTTPResponse:
    body = json.dumps(payload, ensure_ascii=False)
    return bottle.HTTPResponse(body=body, status=status, headers={"Content-Type": JSON_TYPE, **(headers or {})})


def _api(handler: Callable[..., bottle.HTTPResponse]) -> Callable[..., bottle.HTTPResponse]:
    """Turn our refusals into JSON answers; anything else is a bug and reaches the 500 handler."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> bottle.HTTPResponse:
        try:
            return handler(*args, **kwargs)
        except ApiError as exc:
            return json_response(error_dict(exc.code, exc.message), exc.status, exc.headers)

    return wrapper


class _Routes:
    def __init__(self, state: WebState) -> None:
        self.state = state
        self.web = state.config.web

    # -- helpers --------------------------------------------------------------------------------

    def require_auth(self) -> None:
        token = self.web.token
        if token is None:
            return
        scheme, _, given = bottle.request.get_header("Authorization", "").partition(" ")
        # compare_digest: the time taken must not tell an attacker how much of the token matched.
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), token.encode()):
            raise ApiError(401, "unauthorized", "this server needs 'Authorization: Bearer <token>' (web.token)",
                           {"WWW-Authenticate": 'Bearer realm="edgeocr"'})

    def _key(self, data: bytes, options: OcrOptions) -> tuple:
        detector = options.detector or self.state.engine.default_detector
        beam = self.state.engine.config.engine.beam_width if options.beam_width is None else options.beam_width
        return content_key(data, detector, beam)

    def _run(self, data: bytes, options: OcrOptions) -> dict[str, Any]:
        # PDFs need the document entry point (pages: [...]); images keep the one-image call.
        engine = self.state.engine
        return engine.run_document(data, options) if is_pdf(data) else engine.run(data, options)

    def recognize(self, uploads: list[Upload], options: OcrOptions) -> list[dict[str, Any]]:
        """Results in upload order: repeats from the cache, the rest together in one job slot."""
        state = self.state
        results: list[dict[str, Any] | None] = []
        for upload in uploads:
            cached = state.cache.get(self._key(upload.data, options))
            if cached is not None:
                cached["cached"] = True
                state.metrics.observe_result(cached, cached=True)
            results.append(cached)
        missing = [i for i, result in enumerate(results) if result is None]
        if missing:
            try:
                with state.admission.slot():
                    ran = state.runner.submit(lambda: [self._run(uploads[i].data, options) for i in missing])
                    for i, result in zip(missing, ran.result()):
                        results[i] = result
            except Busy as exc:
                state.metrics.observe_busy()
                raise ApiError(503, "busy", f"the OCR queue is full ({exc}); retry after "
                               f"{self.web.retry_after_seconds} s",
                               {"Retry-After": str(self.web.retry_after_seconds)}) from None
            for i in missing:
                state.cache.put(self._key(uploads[i].data, options), results[i])
                results[i]["cached"] = False
                state.metrics.observe_result(results[i], cached=False)
        return results  # type: ignore[return-value]

    # -- routes ---------------------------------------------------------------------------------

    @_api
    def ocr(self) -> bottle.HTTPResponse:
        self.require_auth()
        options, text_only = parse_options(bottle.request.query)
        wanted = (bottle.request.query.get("format") or "json").strip().lower()
        if wanted not in ("json", "pdf"):
            raise ApiError(400, "bad_request", f"format must be json or pdf, got {wanted!r}")
        uploads = read_images(bottle.request, self.web.max_body_bytes, many=False)
        result = self.recognize(uploads, options)[0]
        if not result.get("success"):
            return json_response(result, STATUS_OF_CODE.get(result["error"]["code"], 500))
        if wanted == "pdf":
            try:
                body = searchable_pdf(uploads[0].data, result)
            except EdgeOcrError as exc:
                raise ApiError(STATUS_OF_CODE.get(exc.code, 500), exc.code, exc.message) from None
            return bottle.HTTPResponse(body=body, status=200, headers={"Content-Type": "application/pdf"})
        if text_only:
            text = result["text"]
            return bottle.HTTPResponse(body=text + ("\n" if text else ""), status=200,
                                       headers={"Content-Type": "text/plain; charset=utf-8"})
        return json_response(result)

    @_api
    def ocr_batch(self) -> bottle.HTTPResponse:
        self.require_auth()
        options, _ = parse_options(bottle.request.query)
        uploads = read_images(bottle.request, self.web.max_body_bytes, many=True)
        if len(uploads) > self.web.max_batch_images:
            raise ApiError(413, "too_many_images", f"{len(uploads)} images in one batch; the limit is "
                           f"{self.web.max_batch_images} (web.max_batch_images)")
        started = time.perf_counter()
        results = self.recognize(uploads, options)
        for upload, result in zip(uploads, results):
            result["filename"] = upload.name
        return json_response({"success": True, "results": results,
                              "total_time": round(time.perf_counter() - started, 4)})

    def health(self) -> bottle.HTTPResponse:
        state = self.state
        running, waiting = state.admission.depth()
        payload: dict[str, Any] = {
            "status": "ok", "version": __version__, "model_loaded": True,
            "pack": {"name": state.engine.pack.name, "version": state.engine.pack.version},
            "detectors": sorted(state.engine.detectors), "default_detector": state.engine.default_detector,
            "queue": {"running": running, "waiting": waiting,
                      "max_running": state.admission.max_running, "max_waiting": state.admission.max_waiting},
            "uptime_seconds": round(time.monotonic() - state.started, 1),
            "auth_required": self.web.token is not None,
            "uncertain_below": uncertain_below(state.config.web, state.engine.config.engine.min_confidence),
            "limits": {"max_body_bytes": self.web.max_body_bytes, "max_batch_images": self.web.max_batch_images,
                       "max_pixels": state.engine.config.engine.max_pixels},
        }
        if state.extra_health is not None:
            try:
                payload.update(state.extra_health())
            except Exception:  # a broken probe must not take /health down with it
                log.exception("extra health check failed")
                payload["status"] = "degraded"
        return json_response(payload)

    @_api
    def metrics(self) -> bottle.HTTPResponse:
        self.require_auth()
        running, waiting = self.state.admission.depth()
        body = self.state.metrics.render(running, waiting)
        if self.state.extra_metrics is not None:
            try:
                body += "".join(line + "\n" for line in self.state.extra_metrics())
            except Exception:  # a broken probe must not take /metrics down with it
                log.exception("extra metrics failed")
        return bottle.HTTPResponse(body=body, status=200,
                                   headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    def openapi(self) -> bottle.HTTPResponse:
        return json_response(build_openapi(self.state.config, sorted(self.state.engine.detectors)))


def uncertain_below(web: Any, min_confidence: float) -> float:
    """The confidence under which the page marks a line as uncertain: ``web.uncertain_below``, or
    1.5 x ``engine.min_confidence`` but never under 0.6 (the default min_confidence is 0, which
    would mark nothing) nor over 1."""
    if web.uncertain_below is not None:
        return web.uncertain_below
    return round(min(1.0, max(0.6, 1.5 * min_confidence)), 4)


def _error_page(error: bottle.HTTPError) -> str:
    """Bottle's own errors (no route, wrong method, an exception in a route) as our JSON."""
    status = error.status_code
    if status >= 500:
        # The traceback goes to the log, never to the client.
        log.error("internal error on %s %s: %s\n%s", bottle.request.method, bottle.request.path,
                  error.exception, error.traceback or "")
        code, message = "internal_error", "internal server error; the details are in the server log"
    elif status == 404:
        code, message = "not_found", f"no such endpoint: {bottle.request.path} (see /openapi.json)"
    elif status == 405:
        code, message = "method_not_allowed", f"{bottle.request.method} is not allowed on {bottle.request.path}"
    else:
        code, message = "bad_request", str(error.body or error.status_line)
    bottle.response.content_type = JSON_TYPE
    return json.dumps(error_dict(code, message))


class _Instrumented:
    """WSGI wrapper: security headers on every answer, and request counts and latency for /metrics."""

    def __init__(self, app: bottle.Bottle, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: dict[str, int] = {}

        def start(status: str, headers: list, exc_info: Any = None) -> Callable:
            seen["status"] = int(status.split(" ", 1)[0])
            present = {name.lower() for name, _ in headers}
            for name, value in headers:
                if name.lower() == "content-length" and value.isdigit():
                    seen["bytes"] = int(value)
            headers = list(headers) + [h for h in SECURITY_HEADERS if h[0].lower() not in present]
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            route = environ.get("bottle.route")
            elapsed = time.perf_counter() - started
            self.metrics.observe_request(route.rule if route is not None else "(unmatched)",
                                         seen.get("status", 500), elapsed)
            log_access(environ, seen.get("status", 500), seen.get("bytes"), elapsed)


def log_access(environ: dict, status: int, size: int | None, seconds: float) -> None:
    """``127.0.0.1 "POST /ocr?text=1" 200 1234 B 0.412 s``; the query holds options, never content."""
    query = environ.get("QUERY_STRING", "")
    target = environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")
    access_log.info('%s "%s %s" %d %s %.3f s', environ.get("REMOTE_ADDR", "-"), environ.get("REQUEST_METHOD", "-"),
                    target[:300], status, f"{size} B" if size is not None else "- B", seconds)


def create_app(state: WebState) -> Callable:
    """The WSGI application for ``state``'s engine and config."""
    app = bottle.Bottle(catchall=True)
    routes = _Routes(state)
    app.route("/ocr", "POST", routes.ocr)
    app.route("/ocr/batch", "POST", routes.ocr_batch)
    app.route("/health", "GET", routes.health)
    app.route("/metrics", "GET", routes.metrics)
    app.route("/openapi.json", "GET", routes.openapi)
    app.route("/", "GET", lambda: _static("index.html"))
    app.route("/favicon.ico", "GET", lambda: _static("favicon.svg"))  # for clients that ask before reading the page
    app.route("/static/<name:path>", "GET", _static)
    app.default_error_handler = _error_page
    guarded = RequestGuard(app, HostPolicy(state.config.web.host, state.config.web.allowed_hosts))
    return _Instrumented(guarded, state.metrics)


def _static(name: str) -> bottle.HTTPResponse:
    # static_file refuses paths outside STATIC_DIR (../ tricks) with 403.
    response = bottle.static_file(name, root=str(STATIC_DIR))
    response.set_header("Cache-Control", "no-cache")
    return response
