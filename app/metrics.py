"""Prometheus metrics (``prometheus_client``), one registry per app.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` before the server starts
(``paperclip serve --workers N`` does): every worker then writes its samples there and
``/api/v1/metrics`` aggregates all of them, whichever worker answers.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "paperclip_http_requests", "HTTP requests by method, route and status",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        self.http_seconds = Histogram(
            "paperclip_http_request_seconds", "HTTP request latency by method and route",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.embed_seconds = Histogram(
            "paperclip_embed_seconds", "Model time of one encoder call (a batch of texts or images)",
            ["kind"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.embed_batch = Histogram(
            "paperclip_embed_batch_size", "Distinct items encoded together in one model call",
            ["kind"], buckets=BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.search_seconds = Histogram(
            "paperclip_search_seconds", "Time one query spends in index search, queueing included",
            ["mode"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.cache_hits = Counter(
            "paperclip_text_cache_hits", "Text queries answered from the embedding cache", registry=r
        )
        self.saturated = Counter(
            "paperclip_saturated", "Requests refused with 503 because a queue was full or too slow",
            ["queue"], registry=r,
        )  # fmt: skip
        self.rate_limited = Counter(
            "paperclip_rate_limited", "Requests refused with 429 by the per-client rate limit", registry=r
        )
        self.index_vectors = Gauge(
            "paperclip_index_vectors", "Vectors in the served index", registry=r, multiprocess_mode="livemax"
        )
        self.index_version = Gauge(
            "paperclip_index_version",
            "Id of the served index version",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.load_failures = Counter(
            "paperclip_index_load_failures", "Attempts to load an index version that failed", registry=r
        )

    def render(self) -> tuple[bytes, str]:
        """The text exposition of this process, or of every worker in multiprocess mode."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template (never the raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.http_requests.labels(method, path, str(status["code"])).inc()
            self.metrics.http_seconds.labels(method, path).observe(time.perf_counter() - t0)
