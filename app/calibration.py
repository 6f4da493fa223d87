"""Scores a reader can trust: each hit's cosine placed in its query's own score distribution over
the whole index, and a flag when the best hit is no better than what meaningless queries reach.

A bare cosine means little (CLIP-like models put every text-image pair between about 0.1 and
0.35, and the level shifts from query to query). The z-score of a hit against all scores the
query gets over the archive says how far it stands out from the crowd for this query; the
percentile says which fraction of the archive scores below it. Queries with no meaning
("zzzz", a blank image) still have a best hit; the null model records how far such queries'
best hits stand out on this index, so a real query must stand out further to be called a match.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SAMPLE = 20_000  # vectors a query is scored against for its background, when the index is larger
NULL_MARGIN = 0.5  # standard deviations a best hit must clear above the null queries' best


@dataclass(frozen=True)
class Background:
    """One query's scores over the index (all of them, or a fixed random sample)."""

    mean: float
    std: float
    scores: np.ndarray  # ascending

    @classmethod
    def of(cls, scores: np.ndarray) -> Background:
        s = np.sort(np.asarray(scores, dtype=np.float64).ravel())
        if s.size == 0:
            return cls(0.0, 1.0, s)
        return cls(float(s.mean()), float(s.std()) or 1e-6, s)

    def z(self, score: float) -> float:
        return (float(score) - self.mean) / self.std

    def percentile(self, score: float) -> float:
        """Per cent of the index scoring below ``score``."""
        if self.scores.size == 0:
            return 100.0
        return 100.0 * float(np.searchsorted(self.scores, score, side="left")) / self.scores.size


def sample_rows(count: int, size: int = SAMPLE, seed: int = 0) -> np.ndarray:
    """Fixed row positions for backgrounds: every row up to ``size``, else a seeded sample (sorted,
    so a memory-mapped read walks forward)."""
    if count <= size:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size, replace=False))


@dataclass(frozen=True)
class NullModel:
    """How far the best hit of a meaningless query stands out on one index (in z)."""

    threshold: float
    probes: int

    @classmethod
    def fit(cls, best_z: Sequence[float], margin: float = NULL_MARGIN) -> NullModel:
        values = np.asarray(best_z, dtype=np.float64)
        return cls(float(values.max()) + margin if values.size else float("inf"), int(values.size))

    def weak(self, best_z: float | None) -> bool:
        """True when the best hit is indistinguishable from background (or there is none)."""
        return best_z is None or best_z <= self.threshold


def null_texts(n: int = 24, seed: int = 0) -> list[str]:
    """Letter strings with no meaning, one to three words: the text side of the null model."""
    rng = np.random.default_rng(seed)
    letters = np.array(list(string.ascii_lowercase))
    return [
        " ".join("".join(rng.choice(letters, rng.integers(3, 10))) for _ in range(rng.integers(1, 4)))
        for _ in range(n)
    ]


def null_images(size: int = 256, seed: int = 0) -> list[np.ndarray]:
    """Images with nothing in them (constant levels, noise), as uint8 RGB arrays: the image side."""
    rng = np.random.default_rng(seed)
    flat = [np.full((size, size, 3), level, np.uint8) for level in (0, 64, 128, 200, 255)]
    noise = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(2)]
    grey = [np.repeat(rng.normal(128, 40, (size, size, 1)).clip(0, 255).astype(np.uint8), 3, axis=2)]
    return flat + noise + grey
