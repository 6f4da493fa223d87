"""One ordered result set from a query's parts, over the rows of the served index version.

A row is a position in the version (``files.ids[row]`` is the observation). The parts:
- the vector ranking (rows by similarity, from the index, already restricted to the allowed rows),
- the full-text ranking (proposals by text match; every allowed row of the n-th proposal ranks n),
- the cone (rows inside, with their distance), which alone ranks by distance.
``mode`` picks vector, text, or both fused by reciprocal rank; then an optional sort by date or
exposure (over the ranked set), and grouping by proposal with the best row first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.fusion import group_ranks, ranks, rrf

MODES = ("vector", "text", "hybrid")
SORTS = ("relevance", "date", "exposure")


def text_rows(
    proposal_of_row: np.ndarray, ranked_pks: Sequence[int], allowed: np.ndarray | None
) -> list[list[int]]:
    """Allowed rows of each full-text-ranked proposal, in the proposals' order."""
    if not len(ranked_pks):
        return []
    order = {int(pk): n for n, pk in enumerate(ranked_pks)}
    hit = np.isin(proposal_of_row, np.fromiter(order, np.int64, len(order)))
    if allowed is not None:
        hit &= allowed
    groups: list[list[int]] = [[] for _ in ranked_pks]
    for row in np.flatnonzero(hit):
        groups[order[int(proposal_of_row[row])]].append(int(row))
    return [g for g in groups if g]


def combine(mode: str, vector: Sequence[int], text: Sequence[Sequence[int]]) -> list[int]:
    """Rows in ranked order: the vector ranking, the text ranking (rows of one proposal keep the
    vector order among themselves where known), or both fused."""
    if mode == "vector":
        return list(vector)
    vector_rank = ranks(vector)
    if mode == "text":
        far = len(vector_rank) + 1
        return [r for g in text for r in sorted(g, key=lambda r: vector_rank.get(r, far))]
    return [int(r) for r, _ in rrf([vector_rank, group_ranks(text)])]


def by_distance(distances: np.ndarray, allowed: np.ndarray | None) -> list[int]:
    """Rows inside the cone (finite distance) that pass the filters, nearest first."""
    inside = np.isfinite(distances)
    if allowed is not None:
        inside &= allowed
    rows = np.flatnonzero(inside)
    return rows[np.argsort(distances[rows], kind="stable")].tolist()


def sort_rows(
    rows: Sequence[int], sort: str, start_mjd: np.ndarray | None, exposure: np.ndarray | None
) -> list[int]:
    """Newest or longest first, unknown values last; ``relevance`` keeps the ranking."""
    if sort == "relevance" or not rows:
        return list(rows)
    values = {"date": start_mjd, "exposure": exposure}[sort]
    if values is None:
        return list(rows)
    v = np.asarray(values, np.float64)[np.asarray(rows)]
    key = np.where(np.isfinite(v), -v, np.inf)
    return [rows[i] for i in np.argsort(key, kind="stable")]


@dataclass
class Group:
    """One proposal's rows in a result set: the best first, the rest in rank order."""

    proposal: int
    rows: list[int] = field(default_factory=list)

    @property
    def best(self) -> int:
        return self.rows[0]

    @property
    def more(self) -> list[int]:
        return self.rows[1:]


def group_by_proposal(rows: Sequence[int], proposal_of_row: np.ndarray) -> list[Group]:
    """Each proposal once, at the rank of its best row."""
    groups: dict[int, Group] = {}
    for row in rows:
        pk = int(proposal_of_row[row])
        groups.setdefault(pk, Group(pk)).rows.append(int(row))
    return list(groups.values())


def facet_counts(
    rows: Sequence[int], codes: np.ndarray, names: Sequence[str], top: int = 12
) -> list[tuple[str, int]]:
    """(value, count) of a category column over ``rows``, most frequent first; nulls (-1) skipped."""
    if not len(rows):
        return []
    c = np.asarray(codes)[np.asarray(rows)]
    c = c[c >= 0]
    counts = np.bincount(c, minlength=len(names)) if len(c) else np.zeros(len(names), int)
    order = np.argsort(-counts, kind="stable")[:top]
    return [(names[i], int(counts[i])) for i in order if counts[i] > 0]


def int_facet(rows: Sequence[int], values: np.ndarray, null: int, top: int = 12) -> list[tuple[str, int]]:
    """(value, count) of an integer column over ``rows`` (cycle), most frequent first."""
    if not len(rows):
        return []
    v = np.asarray(values)[np.asarray(rows)]
    v = v[v != null]
    uniq, counts = np.unique(v, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:top]
    return [(str(int(uniq[i])), int(counts[i])) for i in order]
