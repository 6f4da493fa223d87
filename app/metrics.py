"""A small Prometheus registry: counters, gauges and histograms rendered as the text format.

Hand-written because the service needs only these three kinds and no extra dependency.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.001, 0.002, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
HELP = {
    "paperclip_http_requests_total": ("counter", "HTTP requests by method, route and status"),
    "paperclip_http_request_seconds": ("histogram", "HTTP request latency by method and route"),
    "paperclip_embed_seconds": ("histogram", "Model time to embed one query (text or image)"),
    "paperclip_embed_batch_size": ("histogram", "Distinct texts encoded together in one model call"),
    "paperclip_search_seconds": ("histogram", "FAISS search time for one query"),
    "paperclip_text_cache_hits_total": ("counter", "Text queries answered from the embedding cache"),
    "paperclip_index_vectors": ("gauge", "Vectors in the served index"),
    "paperclip_index_version": ("gauge", "Id of the served index version"),
    "paperclip_index_load_failures_total": ("counter", "Index versions that failed to load"),
}

Labels = tuple[tuple[str, str], ...]


def _fmt(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{v}"'.replace("\n", " ") for k, v in labels)
    return "{" + inner + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[Labels, float]] = defaultdict(dict)
        self._hist: dict[str, dict[Labels, list[float]]] = defaultdict(dict)  # bucket counts, sum, count
        self._buckets: dict[str, tuple[float, ...]] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[name][key] = self._values[name].get(key, 0.0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        with self._lock:
            self._values[name][tuple(sorted(labels.items()))] = float(value)

    def observe(self, name: str, value: float, buckets: tuple[float, ...] = BUCKETS, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            buckets = self._buckets.setdefault(name, buckets)
            h = self._hist[name].setdefault(key, [0.0] * (len(buckets) + 2))
            for i, bound in enumerate(buckets):
                if value <= bound:
                    h[i] += 1
            h[-2] += value
            h[-1] += 1

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self._values.items()):
                kind, text = HELP.get(name, ("gauge", name))
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                lines += [f"{name}{_fmt(k)} {v:g}" for k, v in sorted(series.items())]
            for name, series in sorted(self._hist.items()):
                lines += [f"# HELP {name} {HELP.get(name, ('', name))[1]}", f"# TYPE {name} histogram"]
                for k, h in sorted(series.items()):
                    for bound, count in zip(self._buckets[name], h, strict=False):
                        lines.append(f"{name}_bucket{_fmt((*k, ('le', f'{bound:g}')))} {count:g}")
                    lines.append(f"{name}_bucket{_fmt((*k, ('le', '+Inf')))} {h[-1]:g}")
                    lines.append(f"{name}_sum{_fmt(k)} {h[-2]:.6f}")
                    lines.append(f"{name}_count{_fmt(k)} {h[-1]:g}")
        return "\n".join(lines) + "\n"


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
            self.metrics.inc(
                "paperclip_http_requests_total", method=method, route=path, status=str(status["code"])
            )
            self.metrics.observe(
                "paperclip_http_request_seconds", time.perf_counter() - t0, method=method, route=path
            )
