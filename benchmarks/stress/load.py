"""Concurrent clients on loopback for a bounded time: latency, throughput and a per-second timeline.

Each client sends a mix like a browsing user's: text searches (distinct queries, some repeated),
filtered searches, observation details, similar observations and preview images.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

WORDS = (
    "globular clusters|spiral galaxy|gravitational lensing arcs|planetary nebula|supernova remnant|"
    "protoplanetary disk|Jupiter aurora|quasar host galaxy|star forming region|dwarf galaxy|"
    "galaxy cluster|brown dwarf|Cepheid variables|Kuiper belt object|Herbig-Haro jet"
).split("|")
MODS = ("deep imaging of", "faint", "nearby", "high redshift", "resolved", "dusty", "young", "old", "")


def queries(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(MODS)} {rng.choice(WORDS)} {rng.randint(0, 10**5)}".strip() for _ in range(n)]


@dataclass
class LoadResult:
    clients: int
    seconds: float
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    transport_errors: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    timeline: list[Counter] = field(default_factory=list)  # per second: status (or "error") -> count

    def summary(self) -> dict[str, Any]:
        all_ms = np.array([x for v in self.latencies.values() for x in v]) * 1000
        pct = lambda a, p: float(np.percentile(a, p)) if len(a) else None  # noqa: E731
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "requests": self.requests,
            "throughput_rps": round(self.requests / self.seconds, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items(), key=lambda kv: str(kv[0]))},
            "errors": self.transport_errors + sum(v for k, v in self.statuses.items() if k != 200),
            "p50_ms": pct(all_ms, 50),
            "p99_ms": pct(all_ms, 99),
            "by_endpoint": {
                name: {
                    "requests": len(v),
                    "p50_ms": pct(np.array(v) * 1000, 50),
                    "p99_ms": pct(np.array(v) * 1000, 99),
                }
                for name, v in sorted(self.latencies.items())
            },
        }


def _request(rng: random.Random, pool: list[str], n_obs: int) -> tuple[str, str, dict | None]:
    oid = rng.randint(1, n_obs)
    roll = rng.random()
    if roll < 0.55:
        return "search", "/api/v1/search", {"q": rng.choice(pool), "k": 12}
    if roll < 0.65:
        return "search_filtered", "/api/v1/search", {"q": rng.choice(pool), "k": 12, "instrument": "ACS/WFC"}
    if roll < 0.80:
        return "observation", f"/api/v1/observations/{oid}", None
    if roll < 0.90:
        return "similar", f"/api/v1/observations/{oid}/similar", {"k": 12}
    return "preview", f"/api/v1/previews/{oid}", None


async def run_load(
    base: str, clients: int, seconds: float, n_obs: int, seed: int = 0, request_timeout: float = 60
) -> LoadResult:
    """``clients`` concurrent connections sending back to back for ``seconds`` (then drained)."""
    import httpx

    pool = queries(5000, seed)
    result = LoadResult(clients, seconds)
    start = time.perf_counter()
    stop = start + seconds

    def bucket() -> Counter:
        second = int(time.perf_counter() - start)
        while len(result.timeline) <= second:
            result.timeline.append(Counter())
        return result.timeline[second]

    async def client(i: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(seed * 1000 + i)
        while time.perf_counter() < stop:
            name, path, params = _request(rng, pool, n_obs)
            t0 = time.perf_counter()
            try:
                r = await http.get(base + path, params=params)
                status: int | str = r.status_code
            except httpx.HTTPError:
                status = "error"
                result.transport_errors += 1
                await asyncio.sleep(0.05)
            result.latencies.setdefault(name, []).append(time.perf_counter() - t0)
            result.requests += 1
            bucket()[status] += 1
            if status != "error":
                result.statuses[status] += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=request_timeout, limits=limits) as http:
        await asyncio.gather(*(client(i, http) for i in range(clients)))
    result.seconds = time.perf_counter() - start
    return result
