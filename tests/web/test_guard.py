"""Requests a browser could be tricked into sending: a foreign Host (DNS rebinding), cross-site posts."""
from __future__ import annotations

import pytest
import requests

from edgeocr.web.guard import HostPolicy, split_host
from tests.web.conftest import running, url

PNG = {"Content-Type": "image/png"}


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:1"},  # the right host on another port is another origin
    {"Sec-Fetch-Site": "cross-site"},
])
def test_a_cross_site_post_is_refused_with_403_json(server, receipt_png, headers):
    answer = requests.post(url(server, "/ocr"), data=receipt_png, headers={**PNG, **headers}, timeout=30)
    assert answer.status_code == 403
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json()["error"]["code"] == "cross_site_request"
    batch = requests.post(url(server, "/ocr/batch"), files={"image": ("a.png", receipt_png, "image/png")},
                          headers=headers, timeout=30)
    assert batch.status_code == 403


def test_same_origin_and_no_origin_posts_are_answered(server, receipt_png):
    own = f"http://127.0.0.1:{server.port}"
    for headers in ({}, {"Origin": own, "Sec-Fetch-Site": "same-origin"}):
        answer = requests.post(url(server, "/ocr"), data=receipt_png, headers={**PNG, **headers}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["text"].startswith("CORNER CAFE")


def test_a_foreign_host_header_is_refused_with_421(server, receipt_png):
    for path in ("/health", "/", "/openapi.json"):
        answer = requests.get(url(server, path), headers={"Host": "attacker.example"}, timeout=10)
        assert answer.status_code == 421, path
        assert answer.json()["error"]["code"] == "host_not_allowed"
        assert "web.allowed_hosts" in answer.json()["error"]["message"]
    answer = requests.post(url(server, "/ocr"), data=receipt_png,
                           headers={**PNG, "Host": f"attacker.example:{server.port}"}, timeout=30)
    assert answer.status_code == 421
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", "[::1]", "app.localhost"):
        assert requests.get(url(server, "/health"), headers={"Host": host}, timeout=10).status_code == 200, host


def test_allowed_hosts_adds_names_and_star_allows_any(engine):
    with running(engine, allowed_hosts=["ocr.lan"]) as server:
        assert requests.get(url(server, "/health"), headers={"Host": "OCR.lan:8080"}, timeout=10).status_code == 200
        assert requests.get(url(server, "/health"), headers={"Host": "other.lan"}, timeout=10).status_code == 421
    policy = HostPolicy("127.0.0.1", ["*"])
    assert policy.allows("anything.example")
    assert split_host("[::1]:8080") == "::1" and split_host("Example.COM:80") == "example.com"


def test_metrics_stay_behind_the_token(engine):
    with running(engine, token="s3cret-token") as server:
        assert requests.get(url(server, "/metrics"), timeout=10).status_code == 401
        answer = requests.get(url(server, "/metrics"), headers={"Authorization": "Bearer s3cret-token"}, timeout=10)
        assert answer.status_code == 200 and "edgeocr_" in answer.text
