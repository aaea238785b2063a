"""The Prometheus exposition: counters, a cumulative histogram, gauges, escaped labels."""
from __future__ import annotations

from edgeocr.web.metrics import LATENCY_BUCKETS, Metrics


def test_histogram_is_cumulative_and_counts_match():
    metrics = Metrics()
    for seconds in (0.004, 0.07, 0.3, 45.0):
        metrics.observe_request("/ocr", 200, seconds)
    text = metrics.render(running=1, waiting=2)
    buckets = {}
    for line in text.splitlines():
        if line.startswith('edgeocr_http_request_duration_seconds_bucket{route="/ocr"'):
            le = line.split('le="')[1].split('"')[0]
            buckets[le] = int(line.rsplit(" ", 1)[1])
    assert buckets["0.01"] == 1 and buckets["0.1"] == 2 and buckets["0.5"] == 3 and buckets["30.0"] == 3
    assert buckets["+Inf"] == 4 and len(buckets) == len(LATENCY_BUCKETS) + 1
    assert 'edgeocr_http_requests_total{route="/ocr",status="200"} 4' in text
    assert "edgeocr_http_request_duration_seconds_count{route=\"/ocr\"} 4" in text
    assert "edgeocr_jobs_running 1" in text and "edgeocr_queue_depth 2" in text


def test_results_count_images_lines_failures_and_cache_hits():
    metrics = Metrics()
    metrics.observe_result({"success": True, "text_lines": [{}, {}, {}]}, cached=False)
    metrics.observe_result({"success": True, "text_lines": [{}]}, cached=True)
    metrics.observe_result({"success": False, "error": {"code": "bad_image", "message": "x"}}, cached=False)
    text = metrics.render(0, 0)
    assert "edgeocr_images_total 3" in text
    assert "edgeocr_lines_total 4" in text
    assert "edgeocr_cache_hits_total 1" in text
    assert 'edgeocr_ocr_failures_total{code="bad_image"} 1' in text


def test_every_family_has_help_and_type_and_labels_are_escaped():
    metrics = Metrics()
    metrics.observe_request('/odd"route\\', 404, 0.01)
    text = metrics.render(0, 0)
    assert 'route="/odd\\"route\\\\"' in text
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    helps = {line.split()[2] for line in text.splitlines() if line.startswith("# HELP")}
    assert names == helps and "edgeocr_busy_total" in names
    for line in text.splitlines():
        if not line.startswith("#"):
            assert line.split("{")[0].split(" ")[0].startswith(tuple(names)), line
