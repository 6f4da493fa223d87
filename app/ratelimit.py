"""Per-client rate limits with the ``limits`` library (the engine under slowapi, whose middleware cannot
see FastAPI's nested routers): one budget per client address across the API and UI, probes exempt.
Over budget is a 429 problem with Retry-After; no limits are configured by default."""

from __future__ import annotations

import json
import math
import time

from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from app.metrics import Metrics

EXEMPT = ("/api/v1/health", "/api/v1/ready", "/api/v1/metrics", "/static/")


class RateLimit:
    def __init__(self, app: ASGIApp, limits: str, storage_uri: str, metrics: Metrics):
        self.app = app
        self.items = parse_many(limits) if limits.strip() else []
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.items or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown",))[0]
        for item in self.items:
            if not self.limiter.hit(item, client):
                reset = self.limiter.get_window_stats(item, client).reset_time
                await self._refuse(scope, send, str(item), max(1, math.ceil(reset - time.time())))
                return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send, limit: str, retry_after: int) -> None:
        self.metrics.rate_limited.inc()
        detail = f"rate limit of {limit} per client exceeded; retry in {retry_after} s"
        if scope["path"].startswith("/api/"):
            body = json.dumps(
                {"type": "about:blank", "title": "Too Many Requests", "status": 429, "detail": detail}
                | {"reason": "rate_limited"}
            ).encode()
            ctype = b"application/problem+json"
        else:
            body = f"<!doctype html><title>Too Many Requests</title><h1>Too Many Requests</h1><p>{detail}</p>"
            body, ctype = body.encode(), b"text/html; charset=utf-8"
        headers = [
            (b"content-type", ctype),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
