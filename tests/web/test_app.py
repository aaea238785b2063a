"""Every endpoint and every error of the API, against a real server on a loopback port."""
from __future__ import annotations

import json
import threading

import pytest
import requests

from edgeocr.config import Config
from tests.rendering import encode, render_lines
from tests.web.conftest import RECEIPT, running, url


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    return body


# --- the happy paths ------------------------------------------------------------------------------


def test_health_reports_model_queue_version_and_extra(server):
    body = requests.get(url(server, "/health"), timeout=10).json()
    assert body["status"] == "ok"
    assert body["model_loaded"] is True
    assert body["pack"]["name"] == Config().engine.pack
    assert body["queue"] == {"running": 0, "waiting": 0, "max_running": 1, "max_waiting": 4}
    assert body["version"] == __import__("edgeocr").__version__
    assert body["uptime_seconds"] >= 0
    assert body["auth_required"] is False
    assert body["daemon"] == {"alive": True}  # extra_health() merged in


def test_multipart_upload_is_read(server, receipt_png):
    response = requests.post(url(server, "/ocr"), files={"image": ("receipt.png", receipt_png, "image/png")}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert [line["text"] for line in body["text_lines"]] == RECEIPT
    for line in body["text_lines"]:
        assert 0 < line["confidence"] <= 1 and len(line["box"]) == 4 and len(line["polygon"]) == 4
    assert body["image"]["format"] == "PNG"


def test_raw_image_body_and_text_only(server):
    lines = ["RAW BODY 77", "second line"]
    data = encode(render_lines(lines), ".jpg", [1, 95])  # cv2.IMWRITE_JPEG_QUALITY
    response = requests.post(url(server, "/ocr?text=1"), data=data, headers={"Content-Type": "image/jpeg"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "\n".join(lines) + "\n"


def test_options_reach_the_engine(server, receipt_png):
    response = requests.post(url(server, "/ocr?beam_width=5&detector=classical"), data=receipt_png,
                             headers={"Content-Type": "image/png"}, timeout=30)
    assert response.status_code == 200
    assert response.json()["model"]["detector"] == "classical"
    assert_error(requests.post(url(server, "/ocr?detector=nope"), data=receipt_png,
                               headers={"Content-Type": "image/png"}, timeout=30), 400, "bad_request")
    assert_error(requests.post(url(server, "/ocr?beam_width=wide"), data=receipt_png,
                               headers={"Content-Type": "image/png"}, timeout=30), 400, "bad_request")
    assert_error(requests.post(url(server, "/ocr?beam_width=500"), data=receipt_png,
                               headers={"Content-Type": "image/png"}, timeout=30), 400, "bad_request")


def test_repeat_is_answered_from_the_cache(server):
    data = encode(render_lines(["CACHE ME 314"]))
    first = requests.post(url(server, "/ocr"), files={"image": ("a.png", data)}, timeout=30).json()
    second = requests.post(url(server, "/ocr"), files={"image": ("b.png", data)}, timeout=30).json()
    assert first["cached"] is False and second["cached"] is True
    assert second["text_lines"] == first["text_lines"]
    # Other options are another key: a different beam width is really run again.
    third = requests.post(url(server, "/ocr?beam_width=3"), files={"image": ("c.png", data)}, timeout=30).json()
    assert third["cached"] is False
    metrics = requests.get(url(server, "/metrics"), timeout=10).text
    assert int(_sample(metrics, "edgeocr_cache_hits_total")) >= 1


def test_batch_keeps_order_and_reports_errors_inline(server):
    pages = [["FIRST PAGE 1"], ["SECOND PAGE 2"]]
    files = [("image", ("one.png", encode(render_lines(pages[0])), "image/png")),
             ("image", ("junk.png", b"this is not an image", "image/png")),
             ("image", ("two.png", encode(render_lines(pages[1])), "image/png"))]
    response = requests.post(url(server, "/ocr/batch"), files=files, timeout=60)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["filename"] for r in results] == ["one.png", "junk.png", "two.png"]
    assert results[0]["text"] == "FIRST PAGE 1"
    assert results[1]["success"] is False and results[1]["error"]["code"] == "bad_image"
    assert results[2]["text"] == "SECOND PAGE 2"


def test_batch_limits(engine):
    with running(engine, max_batch_images=2) as small:
        files = [("image", (f"{i}.png", b"x")) for i in range(3)]
        assert_error(requests.post(url(small, "/ocr/batch"), files=files, timeout=30), 413, "too_many_images")
        assert_error(requests.post(url(small, "/ocr/batch"), data=b"x", headers={"Content-Type": "image/png"},
                                   timeout=30), 415, "unsupported_media_type")
        assert_error(requests.post(url(small, "/ocr/batch"), files={"other": ("a.png", b"x")}, timeout=30),
                     400, "bad_request")


def test_metrics_count_requests_latency_images_lines_and_failures(server, receipt_png):
    requests.post(url(server, "/ocr"), data=receipt_png, headers={"Content-Type": "image/png"}, timeout=30)
    requests.post(url(server, "/ocr"), data=b"garbage", headers={"Content-Type": "image/png"}, timeout=30)
    requests.get(url(server, "/no/such/thing"), timeout=10)
    response = requests.get(url(server, "/metrics"), timeout=10)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert int(_sample(text, 'edgeocr_http_requests_total{route="/ocr",status="200"}')) >= 1
    assert int(_sample(text, 'edgeocr_http_requests_total{route="/ocr",status="400"}')) >= 1
    assert int(_sample(text, 'edgeocr_http_requests_total{route="(unmatched)",status="404"}')) >= 1
    count = int(_sample(text, 'edgeocr_http_request_duration_seconds_count{route="/ocr"}'))
    assert int(_sample(text, 'edgeocr_http_request_duration_seconds_bucket{route="/ocr",le="+Inf"}')) == count >= 2
    assert int(_sample(text, "edgeocr_images_total")) >= 2
    assert int(_sample(text, "edgeocr_lines_total")) >= len(["CORNER CAFE", "Latte", "TOTAL"])
    assert int(_sample(text, 'edgeocr_ocr_failures_total{code="bad_image"}')) >= 1
    assert _sample(text, "edgeocr_queue_depth") == "0"


def test_openapi_describes_every_route(server):
    document = requests.get(url(server, "/openapi.json"), timeout=10).json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/ocr", "/ocr/batch", "/health", "/metrics", "/openapi.json"}
    assert "multipart/form-data" in document["paths"]["/ocr"]["post"]["requestBody"]["content"]


def test_page_and_assets_are_served_locally(server):
    page = requests.get(url(server, "/"), timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    for asset in ("/static/app.js", "/static/style.css"):
        assert requests.get(url(server, asset), timeout=10).status_code == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert requests.get(url(server, "/static/../server.py"), timeout=10).status_code in (403, 404)


# --- refusals -------------------------------------------------------------------------------------


def test_not_an_image_truncated_and_empty_are_400_with_the_engine_code(server, receipt_png):
    for data in (b"plain words, not pixels", receipt_png[: len(receipt_png) // 2], b""):
        assert_error(requests.post(url(server, "/ocr"), data=data, headers={"Content-Type": "image/png"}, timeout=30),
                     400, "bad_image")
    assert_error(requests.post(url(server, "/ocr"), files={"image": ("x.png", b"")}, timeout=30), 400, "bad_image")


def test_wrong_content_type_is_415(server, receipt_png):
    assert_error(requests.post(url(server, "/ocr"), data=receipt_png, headers={"Content-Type": "text/plain"},
                               timeout=30), 415, "unsupported_media_type")
    assert_error(requests.post(url(server, "/ocr"), data={"image": "a form field"}, timeout=30),
                 415, "unsupported_media_type")


def test_too_many_pixels_is_422_image_too_large(server):
    import numpy as np

    huge = encode(np.full((7000, 7000), 255, dtype=np.uint8))  # 49 MP over the 40 MP default; a small PNG
    assert len(huge) < 1_000_000
    body = assert_error(requests.post(url(server, "/ocr"), data=huge, headers={"Content-Type": "image/png"},
                                      timeout=30), 422, "image_too_large")
    assert "engine.max_pixels" in body["error"]["message"]


def test_body_over_the_limit_is_413(engine):
    with running(engine, max_body_bytes=50_000) as small:
        response = requests.post(url(small, "/ocr"), data=b"\xff" * 60_000, headers={"Content-Type": "image/png"},
                                 timeout=30)
        body = assert_error(response, 413, "body_too_large")
        assert "web.max_body_bytes" in body["error"]["message"]
        assert requests.get(url(small, "/health"), timeout=10).status_code == 200


def test_missing_and_malformed_multipart_are_400(server):
    cases = [
        ("multipart/form-data", b"--x\r\n"),  # no boundary parameter
        ("multipart/form-data; boundary=xyz", b"this is not multipart at all"),
        ("multipart/form-data; boundary=xyz", b'--xyz\r\nContent-Disposition: form-data; name="image"; '
                                              b'filename="a.png"\r\n\r\nunterminated part'),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nNo-Colon-Header\r\n\r\nx\r\n--xyz--\r\n"),
    ]
    for content_type, body in cases:
        response = requests.post(url(server, "/ocr"), data=body, headers={"Content-Type": content_type}, timeout=30)
        assert_error(response, 400, "bad_request")
    assert_error(requests.post(url(server, "/ocr"), files={"picture": ("a.png", b"x")}, timeout=30),
                 400, "bad_request")
    assert requests.get(url(server, "/health"), timeout=10).status_code == 200


def test_unknown_route_and_wrong_method_are_json(server):
    assert_error(requests.get(url(server, "/nope"), timeout=10), 404, "not_found")
    response = requests.get(url(server, "/ocr"), timeout=10)
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert_error(requests.delete(url(server, "/health"), timeout=10), 405, "method_not_allowed")


def test_bearer_token(engine, receipt_png):
    token = "s3cret-token-for-tests"
    with running(engine, token=token) as guarded:
        post = lambda headers: requests.post(url(guarded, "/ocr"), data=receipt_png,  # noqa: E731
                                             headers={"Content-Type": "image/png", **headers}, timeout=30)
        response = post({})
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert_error(post({"Authorization": "Bearer wrong-token-xxxxxxxx"}), 401, "unauthorized")
        assert_error(post({"Authorization": f"Basic {token}"}), 401, "unauthorized")
        assert post({"Authorization": f"Bearer {token}"}).status_code == 200
        assert_error(requests.get(url(guarded, "/metrics"), timeout=10), 401, "unauthorized")
        assert requests.get(url(guarded, "/metrics"), headers={"Authorization": f"Bearer {token}"},
                            timeout=10).status_code == 200
        # /health stays open (load balancers, Docker HEALTHCHECK) and tells the page a token is needed.
        health = requests.get(url(guarded, "/health"), timeout=10)
        assert health.status_code == 200 and health.json()["auth_required"] is True
        assert "bearer" in requests.get(url(guarded, "/openapi.json"), timeout=10).json()["components"]["securitySchemes"]


class _ExplodingEngine:
    """Fault injection: the real engine, except that ``run`` hits a bug. No real input makes our
    engine raise a non-EdgeOcrError, so this stand-in is the only way to reach the 500 path."""

    def __init__(self, real) -> None:
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def run(self, data, options):
        raise RuntimeError("secret internal detail")


def test_internal_error_is_json_without_a_traceback_and_the_server_survives(engine, receipt_png, caplog):
    with running(_ExplodingEngine(engine)) as broken:
        response = requests.post(url(broken, "/ocr"), data=receipt_png, headers={"Content-Type": "image/png"},
                                 timeout=30)
        assert_error(response, 500, "internal_error")
        assert "secret internal detail" not in response.text
        assert requests.get(url(broken, "/health"), timeout=10).status_code == 200
    assert "secret internal detail" in caplog.text  # the details go to the log instead


class _ThreadRecordingEngine:
    """The real engine, noting which thread each ``run`` happens on (a spy, not a stand-in)."""

    def __init__(self, real) -> None:
        self._real = real
        self.threads: set[str] = set()

    def __getattr__(self, name):
        return getattr(self._real, name)

    def run(self, data, options):
        self.threads.add(threading.current_thread().name)
        return self._real.run(data, options)


def test_ocr_runs_on_the_job_threads_not_the_request_threads(engine, receipt_png):
    # Each thread that runs ONNX Runtime keeps its own malloc arena; confining OCR to web.jobs
    # threads is what keeps the server's RSS flat (bench/bench_web.py).
    spy = _ThreadRecordingEngine(engine)
    with running(spy, cache_entries=0) as server:
        for _ in range(6):
            assert requests.post(url(server, "/ocr"), data=receipt_png, headers={"Content-Type": "image/png"},
                                 timeout=30).status_code == 200
    assert spy.threads and all(name.startswith("edgeocr-ocr") for name in spy.threads), spy.threads
    assert len(spy.threads) == 1  # web.jobs defaults to 1


def test_a_failing_extra_health_probe_degrades_health(engine):
    def probe():
        raise OSError("watcher gone")

    with running(engine, extra_health=probe) as degraded:
        response = requests.get(url(degraded, "/health"), timeout=10)
        assert response.status_code == 200 and response.json()["status"] == "degraded"


def _sample(exposition: str, name: str) -> str:
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return line.rsplit(" ", 1)[1]
    raise AssertionError(f"{name} not in metrics:\n{exposition}")
