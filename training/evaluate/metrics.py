"""Retrieval metrics on a similarity matrix, exact under ties.

Ties are resolved in expectation over a uniformly random order, never by position: identical
captions (many images share one abstract) and a collapsed model then score what a random order
would give, instead of whatever the row order happens to favour.

A query's positives are its own pair (strict) or every pair of the same proposal
(duplicate-aware); a hit at cutoff ``c`` means the best-ranked positive sits within the top ``c``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PERCENTS = tuple(range(1, 101))
RECALL_AT = (1, 5, 10)


@dataclass(frozen=True)
class RankStats:
    """Per query: negatives scored above the best positive, negatives tied with it, positives tied."""

    above: np.ndarray
    tied_negatives: np.ndarray
    tied_positives: np.ndarray
    candidates: int

    @classmethod
    def from_scores(cls, scores: np.ndarray, positives: np.ndarray) -> RankStats:
        """``scores`` (queries x candidates); ``positives`` a same-shape bool mask, >= 1 per row."""
        if scores.shape != positives.shape:
            raise ValueError(f"scores {scores.shape} and positives {positives.shape} differ in shape")
        if not positives.any(axis=1).all():
            raise ValueError("every query needs at least one positive")
        best = np.where(positives, scores, -np.inf).max(axis=1, keepdims=True)
        negatives = ~positives
        return cls(
            above=((scores > best) & negatives).sum(axis=1),
            tied_negatives=((scores == best) & negatives).sum(axis=1),
            tied_positives=((scores == best) & positives).sum(axis=1),
            candidates=scores.shape[1],
        )

    def hit_probability(self, cutoff: int) -> np.ndarray:
        """P(best positive ranks within the top ``cutoff``), per query."""
        room = cutoff - self.above
        tn, tp = self.tied_negatives, self.tied_positives
        prob = (room > tn).astype(np.float64)
        partial = (room > 0) & (room <= tn)
        if partial.any():  # miss = C(tn, m) / C(tn + tp, m) = C(n - m, tp) / C(n, tp), n = tn + tp
            m, b = room[partial], tp[partial]
            n = tn[partial] + b
            miss = np.ones(len(m))
            for j in range(int(b.max())):
                miss *= np.where(j < b, (n - m - j) / np.maximum(n - j, 1), 1.0)
            prob[partial] = 1.0 - miss
        return prob

    def expected_rank(self) -> np.ndarray:
        """1-based; the first of ``tp`` positives among ``tn + tp`` shuffled slots sits at (n+1)/(tp+1)."""
        n = self.tied_negatives + self.tied_positives
        return self.above + (n + 1) / (self.tied_positives + 1)

    def expected_reciprocal_rank(self) -> np.ndarray:
        rr = 1.0 / (self.above + 1.0)
        for q in np.flatnonzero(self.tied_negatives):
            g, tn, tp = int(self.above[q]), int(self.tied_negatives[q]), int(self.tied_positives[q])
            n, x = tn + tp, np.arange(tn + 2)
            survive = np.prod([(n - x - j) / (n - j) for j in range(tp)], axis=0)  # P(first positive > x)
            rr[q] = float(np.sum((survive[:-1] - survive[1:]) / (g + x[1:])))
        return rr


def percent_cutoff(percent: float, candidates: int) -> int:
    """The paper's top-k% cutoff floor(k * N / 100), at least 1 so tiny sets have no dead zone."""
    return max(1, math.floor(percent * candidates / 100))


def top_k_accuracy(stats: RankStats, percents: tuple[int, ...] = PERCENTS) -> dict[int, float]:
    """The paper's curve: share of queries whose positive is within the top k% of candidates."""
    return {k: float(stats.hit_probability(percent_cutoff(k, stats.candidates)).mean()) for k in percents}


def curve_auc(curve: dict[int, float]) -> float:
    """Mean accuracy over k = 1..100%: 1.0 for a perfect model, about 0.5 for chance."""
    return float(np.mean(list(curve.values())))


def retrieval_metrics(stats: RankStats) -> dict[str, object]:
    """Everything one direction reports: the paper's curve and AUC, and the field's ranks."""
    curve = top_k_accuracy(stats)
    out: dict[str, object] = {
        "top_k_accuracy": {str(k): v for k, v in curve.items()},
        "auc": curve_auc(curve),
    }
    for k in RECALL_AT:
        out[f"recall_at_{k}"] = float(stats.hit_probability(k).mean())
    out["median_rank"] = float(np.median(stats.expected_rank()))
    out["mrr"] = float(stats.expected_reciprocal_rank().mean())
    return out


def positive_masks(query_groups: np.ndarray, candidate_groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(strict, duplicate-aware) masks for square pair matrices: own pair, or same group."""
    strict = np.eye(len(query_groups), len(candidate_groups), dtype=bool)
    return strict, query_groups[:, None] == candidate_groups[None, :]


def expected_relevance(scores: np.ndarray, relevant: np.ndarray, depth: int) -> np.ndarray:
    """Expected relevance at each of the first ``depth`` ranks, tie blocks averaged."""
    order = np.argsort(-scores, kind="stable")
    ranked, rel = scores[order], relevant[order].astype(np.float64)
    out = np.zeros(min(depth, len(scores)))
    start = 0
    while start < len(out):
        end = start + int(np.searchsorted(-ranked[start:], -ranked[start], side="right"))
        out[start : min(end, len(out))] = rel[start:end].mean()
        start = end
    return out


def precision_at_k(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    """Share of the top ``k`` (or all, when fewer) that is relevant."""
    return precision_and_ndcg(scores, relevant, k)[0]


def ndcg_at_k(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    """Binary-relevance nDCG@k; 0 when nothing is relevant."""
    return precision_and_ndcg(scores, relevant, k)[1]


def precision_and_ndcg(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> tuple[float, float]:
    """(precision@k, nDCG@k) from one ranking."""
    er = expected_relevance(scores, relevant, k)
    if not len(er):
        return 0.0, 0.0
    discounts = 1.0 / np.log2(np.arange(2, len(er) + 2))
    ideal = discounts[: min(int(relevant.sum()), len(er))].sum()
    return float(er.sum() / len(er)), float((er * discounts).sum() / ideal) if ideal > 0 else 0.0


def similarity_gap(
    image_emb: np.ndarray, text_emb: np.ndarray, groups: np.ndarray, seed: int, per_item: int = 10
) -> dict[str, object]:
    """Cosine of matched pairs vs pairs shuffled across proposals (the paper's Fig. 3, left)."""
    matched = np.einsum("ij,ij->i", image_emb, text_emb)
    rng = np.random.default_rng(seed)
    n = len(groups)
    i = np.repeat(np.arange(n), per_item)
    j = rng.integers(0, n, size=len(i))
    keep = groups[i] != groups[j]
    shuffled = np.einsum("ij,ij->i", image_emb[i[keep]], text_emb[j[keep]])
    return {
        "matched": matched,
        "shuffled": shuffled,
        "shuffled_groups": groups[i[keep]],
        "matched_mean": float(matched.mean()),
        "shuffled_mean": float(shuffled.mean()) if len(shuffled) else float("nan"),
        "gap": float(matched.mean() - shuffled.mean()) if len(shuffled) else float("nan"),
    }


def pair_stats(scores: np.ndarray, groups: np.ndarray) -> dict[str, tuple[RankStats, RankStats]]:
    """(strict, duplicate-aware) rank statistics per direction of an images x captions matrix over
    the same pairs, where ``groups`` is each pair's proposal."""
    strict, any_caption = positive_masks(groups, groups)
    return {
        "image_to_text": (RankStats.from_scores(scores, strict), RankStats.from_scores(scores, any_caption)),
        "text_to_image": (
            RankStats.from_scores(scores.T, strict),
            RankStats.from_scores(scores.T, any_caption),
        ),
    }


def pair_retrieval(scores: np.ndarray, groups: np.ndarray) -> dict[str, dict[str, object]]:
    """The paper's retrieval in both directions, each with its duplicate-aware block: what
    ``paperclip evaluate`` reports and training's validation logs."""
    out = {}
    for direction, (strict, any_caption) in pair_stats(scores, groups).items():
        out[direction] = {**retrieval_metrics(strict), "duplicate_aware": retrieval_metrics(any_caption)}
    return out


def in_batch_accuracy(queries: np.ndarray, candidates: np.ndarray, batch: int = 100, k: int = 10) -> float:
    """Share of queries whose own candidate (same row) is within the top ``k`` of its batch.

    The released code's validation metric (text -> image, top 10 in batches of 100): consecutive
    full batches of the rows as given; when fewer rows than one batch exist, they form one batch.
    """
    n = len(queries)
    size = min(batch, n)
    hits = []
    for start in range(0, n - size + 1, size):
        q, c = queries[start : start + size], candidates[start : start + size]
        hits.append(RankStats.from_scores(q @ c.T, np.eye(size, dtype=bool)).hit_probability(k))
    return float(np.concatenate(hits).mean()) if hits else float("nan")


class Bootstrap:
    """Resamples of proposals with replacement (a cluster bootstrap): row ``b`` of ``counts`` says
    how often each proposal is drawn in resample ``b``. A metric's samples re-weigh its per-query
    values by their proposal's count, against the same candidate pool; the interval is the 2.5
    and 97.5 percentiles of its samples."""

    def __init__(self, proposals: np.ndarray, resamples: int = 1000, seed: int = 0):
        self.proposals = np.unique(proposals)
        rng = np.random.default_rng([seed, len(self.proposals)])
        p = len(self.proposals)
        self.counts = rng.multinomial(p, np.full(p, 1.0 / p), size=resamples).astype(np.float64)

    def weights(self, groups: np.ndarray) -> np.ndarray:
        """(resamples, items): how often each item (by its proposal) is in each resample."""
        return self.counts[:, np.searchsorted(self.proposals, groups)]

    def mean(self, values: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Resampled means of per-item ``values`` (items,) or (items, m)."""
        w = self.weights(groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            total = w.sum(axis=1)
            return (w @ values) / (total[:, None] if values.ndim == 2 else total)

    def median(self, values: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Resampled (lower) weighted medians."""
        order = np.argsort(values, kind="stable")
        cum = np.cumsum(self.weights(groups)[:, order], axis=1)
        half = cum[:, -1:] / 2
        picked = np.argmax(cum >= half, axis=1)
        return np.where(cum[:, -1] > 0, values[order][picked], np.nan)

    def apply(self, fn, groups: np.ndarray) -> np.ndarray:
        """``fn(indices)`` on each resample of the items (repeated as drawn); (resamples, ...) out."""
        w = self.weights(groups).astype(np.int64)
        return np.array([fn(np.repeat(np.arange(len(groups)), row)) for row in w])


def interval(samples: np.ndarray) -> list[float] | None:
    """The 95% percentile interval of bootstrap samples; None when no resample had data."""
    samples = samples[np.isfinite(samples)]
    if not len(samples):
        return None
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return [float(lo), float(hi)]


def retrieval_samples(stats: RankStats, boot: Bootstrap, groups: np.ndarray) -> dict[str, np.ndarray]:
    """Bootstrap samples of every figure ``retrieval_metrics`` reports, keyed by its flat path."""
    hits = np.stack([stats.hit_probability(percent_cutoff(k, stats.candidates)) for k in PERCENTS], axis=1)
    curve = boot.mean(hits, groups)
    out = {f"top_k_accuracy.{k}": curve[:, i] for i, k in enumerate(PERCENTS)}
    out["auc"] = curve.mean(axis=1)
    for k in RECALL_AT:
        out[f"recall_at_{k}"] = boot.mean(stats.hit_probability(k), groups)
    out["median_rank"] = boot.median(stats.expected_rank(), groups)
    out["mrr"] = boot.mean(stats.expected_reciprocal_rank(), groups)
    return out
