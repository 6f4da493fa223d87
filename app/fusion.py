"""Reciprocal rank fusion: one ranking from several (vector and full-text), by rank alone.

Scores from a cosine and from BM25 or ts_rank live on unrelated scales; RRF (Cormack, Clarke and
Buettcher, SIGIR 2009) adds w / (k + rank) over the rankings an item appears in, so an item near
the top of both beats one at the top of only one, and no score needs calibrating against another.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

K = 60  # the paper's constant: damps the head of each ranking so no single list dominates


def ranks(items: Sequence[Hashable]) -> dict[Hashable, int]:
    """item -> rank from 1, first occurrence kept."""
    out: dict[Hashable, int] = {}
    for item in items:
        out.setdefault(item, len(out) + 1)
    return out


def group_ranks(groups: Sequence[Sequence[Hashable]]) -> dict[Hashable, int]:
    """Every item of the n-th group shares rank n: all observations of the n-th proposal that
    full-text search found, fused with a ranking of observations."""
    out: dict[Hashable, int] = {}
    for rank, group in enumerate(groups, start=1):
        for item in group:
            out.setdefault(item, rank)
    return out


def rrf(
    rankings: Sequence[Mapping[Hashable, int]], k: int = K, weights: Sequence[float] | None = None
) -> list[tuple[Hashable, float]]:
    """(item, fused score), best first; ties keep the order in which items were first seen."""
    if weights is not None and len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    fused: dict[Hashable, float] = {}
    for n, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[n]
        for item, rank in ranking.items():
            fused[item] = fused.get(item, 0.0) + w / (k + rank)
    first = {item: i for i, item in enumerate(fused)}
    return sorted(fused.items(), key=lambda kv: (-kv[1], first[kv[0]]))
