"""Prometheus text exposition of the few numbers an operator watches; no client library needed.

Routes are labelled by their rule (``/ocr``), never the raw path, so a scanner probing random URLs
cannot grow the label set without bound.
"""
from __future__ import annotations

import threading
from collections import Counter

LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, int]] = Counter()
        self._bucket_counts: dict[str, list[int]] = {}
        self._latency_sum: Counter[str] = Counter()
        self._latency_count: Counter[str] = Counter()
        self._failures: Counter[str] = Counter()
        self.images = 0
        self.lines = 0
        self.cache_hits = 0
        self.busy = 0

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(route, status)] += 1
            buckets = self._bucket_counts.setdefault(route, [0] * len(LATENCY_BUCKETS))
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    buckets[i] += 1
            self._latency_sum[route] += seconds
            self._latency_count[route] += 1

    def observe_result(self, result: dict, cached: bool) -> None:
        """Count one image's outcome (successful or not)."""
        with self._lock:
            self.images += 1
            if cached:
                self.cache_hits += 1
            if result.get("success"):
                self.lines += len(result.get("text_lines", ()))
            else:
                self._failures[result.get("error", {}).get("code", "internal_error")] += 1

    def observe_busy(self) -> None:
        with self._lock:
            self.busy += 1

    def render(self, running: int, waiting: int) -> str:
        out: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")

        with self._lock:
            family("edgeocr_http_requests_total", "counter", "HTTP requests by route and status.")
            for (route, status), count in sorted(self._requests.items()):
                out.append(f'edgeocr_http_requests_total{{route="{_escape(route)}",status="{status}"}} {count}')
            family("edgeocr_http_request_duration_seconds", "histogram", "Time to answer a request.")
            for route in sorted(self._bucket_counts):
                label = _escape(route)
                for bound, count in zip(LATENCY_BUCKETS, self._bucket_counts[route]):
                    out.append(f'edgeocr_http_request_duration_seconds_bucket{{route="{label}",le="{bound}"}} {count}')
                total = self._latency_count[route]
                out.append(f'edgeocr_http_request_duration_seconds_bucket{{route="{label}",le="+Inf"}} {total}')
                out.append(f'edgeocr_http_request_duration_seconds_sum{{route="{label}"}} {self._latency_sum[route]:.6f}')
                out.append(f'edgeocr_http_request_duration_seconds_count{{route="{label}"}} {total}')
            family("edgeocr_images_total", "counter", "Images read (cache hits included).")
            out.append(f"edgeocr_images_total {self.images}")
            family("edgeocr_lines_total", "counter", "Text lines returned.")
            out.append(f"edgeocr_lines_total {self.lines}")
            family("edgeocr_cache_hits_total", "counter", "Images answered from the result cache.")
            out.append(f"edgeocr_cache_hits_total {self.cache_hits}")
            family("edgeocr_ocr_failures_total", "counter", "Images that could not be read, by error code.")
            for code, count in sorted(self._failures.items()):
                out.append(f'edgeocr_ocr_failures_total{{code="{_escape(code)}"}} {count}')
            family("edgeocr_busy_total", "counter", "Requests turned away with 503 because the queue was full.")
            out.append(f"edgeocr_busy_total {self.busy}")
        family("edgeocr_jobs_running", "gauge", "OCR jobs running now.")
        out.append(f"edgeocr_jobs_running {running}")
        family("edgeocr_queue_depth", "gauge", "OCR jobs waiting for a slot now.")
        out.append(f"edgeocr_queue_depth {waiting}")
        return "\n".join(out) + "\n"
