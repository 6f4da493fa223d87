"""Scores a reader can trust: each hit placed in its query's own score distribution over the whole
index, and a flag when the best hits are no better than what meaningless queries get.

A bare cosine means little: CLIP-like models put most text-image pairs between 0.1 and 0.35 and
the level shifts from query to query. Two calibrations:

- Per hit, against the query's own scores over the archive (every vector, or a fixed sample of
  ``SAMPLE``): the z-score (standard deviations above this query's mean) and the percentile (the
  share of the archive scoring below). They say how far a hit stands out for this query.
- Per query, against meaningless queries (random letter strings; for uploads, colour noise): at
  load, every observation gets the mean and spread of its scores under ``NULL_PROBES`` such
  probes. A query's strength is the mean over its 10 best hits of how far each exceeds what the
  probes score on that same observation, in units of their spread: the null z. Popular
  observations that every query finds (hubs) score high for the probes too, so they add nothing.
  A query is a weak match when its strength is within what the probes themselves reach (their
  95th percentile, each probe measured against the others, plus a margin). Measured on the demo
  archive (lite model, queries as typed): 1 of 16 class queries and 14 of 96 free-form ones weak,
  30 of 32 unseen random strings weak.

Score distributions alone cannot tell a meaningless query from a meaningful one there: a class
query's top hit stands about as far above its own mean (z 2.5-4.4) as "zzzz"'s does (z 2.3-3.4),
because a class is a sizeable mode of the archive; only the comparison per observation separates them.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

SAMPLE = 20_000  # vectors a query is scored against for its background, when the index is larger
NULL_PROBES = 64  # meaningless text queries; image probes are fewer (colour noise)
TOP = 10  # hits whose null z makes a query's strength
POOL = 200  # best hits by score the strongest TOP are taken from
QUANTILE, MARGIN = 95.0, 0.25
CHUNK = 65_536  # rows per step when fitting over a large index


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
    """Per observation, the mean and spread of meaningless queries' scores; and the strength such
    queries reach, above which a query counts as a match."""

    mean: np.ndarray  # (rows,) float32
    std: np.ndarray  # (rows,) float32
    threshold: float
    probes: int

    @classmethod
    def fit(
        cls, vectors: np.ndarray, probes: np.ndarray, quantile: float = QUANTILE, margin: float = MARGIN
    ) -> NullModel:
        """``vectors`` (rows x d, may be memory-mapped float16) scored against ``probes`` (p x d)
        in chunks; the threshold from each probe's strength measured against the other probes."""
        probes = np.asarray(probes, dtype=np.float32)
        p = len(probes)
        rows = len(vectors)
        total = np.zeros(rows, np.float64)
        squares = np.zeros(rows, np.float64)
        best: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0), np.zeros(0, np.int64))] * p
        for start, scores in _chunks(vectors, probes):
            total[start : start + len(scores)] = scores.sum(1)
            squares[start : start + len(scores)] = (scores.astype(np.float64) ** 2).sum(1)
            for j in range(p):  # keep each probe's POOL best rows seen so far
                s = np.concatenate([best[j][0], scores[:, j]])
                r = np.concatenate([best[j][1], np.arange(start, start + len(scores))])
                keep = np.argsort(-s, kind="stable")[:POOL]
                best[j] = (s[keep], r[keep])
        mean = total / max(p, 1)
        std = np.sqrt(np.maximum(squares / max(p, 1) - mean**2, 0)) + 1e-3
        strengths = []
        for j in range(p):  # leave probe j out of the statistics it is judged against
            s, r = best[j]
            if p < 3 or not len(r):
                continue
            m = (total[r] - s) / (p - 1)
            sd = np.sqrt(np.maximum((squares[r] - s.astype(np.float64) ** 2) / (p - 1) - m**2, 0)) + 1e-3
            strengths.append(_strength((s - m) / sd))
        threshold = float(np.percentile(strengths, quantile)) + margin if strengths else float("inf")
        return cls(mean.astype(np.float32), std.astype(np.float32), threshold, p)

    def strength(self, scores: np.ndarray, positions: np.ndarray) -> float | None:
        """Mean null z of the TOP strongest among a query's best hits (scores at row ``positions``)."""
        if not len(positions):
            return None
        positions = np.asarray(positions)
        return _strength((np.asarray(scores, np.float64) - self.mean[positions]) / self.std[positions])

    def weak(self, strength: float | None) -> bool:
        """True when the best hits are indistinguishable from background (or there are none)."""
        return strength is None or strength <= self.threshold


def _strength(null_z: np.ndarray) -> float:
    return float(np.sort(null_z)[-TOP:].mean())


def _chunks(vectors: np.ndarray, probes: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    for start in range(0, len(vectors), CHUNK):
        yield start, np.asarray(vectors[start : start + CHUNK], dtype=np.float32) @ probes.T


def null_texts(n: int = NULL_PROBES, seed: int = 0) -> list[str]:
    """Letter strings with no meaning, one to three words: the text side of the null model."""
    rng = np.random.default_rng(seed)
    letters = np.array(list(string.ascii_lowercase))
    return [
        " ".join("".join(rng.choice(letters, rng.integers(3, 10))) for _ in range(rng.integers(1, 4)))
        for _ in range(n)
    ]


def null_images(n: int = 8, size: int = 224, seed: int = 0) -> list[np.ndarray]:
    """Colour noise (uint8 RGB arrays), coarse and fine: the image side. Not grey noise or flat
    grey, which look like real previews (a dense star field, an empty frame)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        block = 2 ** (i % 4)  # 1, 2, 4, 8 px grains
        small = rng.integers(0, 256, (size // block, size // block, 3), dtype=np.uint8)
        out.append(np.kron(small, np.ones((block, block, 1), np.uint8)))
    return out


def is_blank(pixels: np.ndarray, tolerance: float = 2.0) -> bool:
    """An image with no structure (one level, give or take compression noise): nothing to match."""
    return float(np.asarray(pixels, np.float32).std()) <= tolerance


NOISE_LAGS = (1, 2, 4, 8, 16)  # pixels; noise drawn in blocks up to 16 px wide decorrelates by the last
NOISE_FLOOR = 0.2


def is_noise(pixels: np.ndarray, lags: tuple[int, ...] = NOISE_LAGS, floor: float = NOISE_FLOOR) -> bool:
    """Pixels with no spatial structure at some scale: the correlation of horizontal neighbours
    ``lag`` apart falls to ~0 for one of ``lags``. Every real preview of tests/data/hst-mini and
    every demo image keeps it above 0.75 up to 8 px (a PSF, a galaxy, a stretched sky all spread
    over pixels); independent noise (grey, colour, blocky) sits at 0 +- 0.01. The image model
    cannot tell: it describes grey noise as confidently as a star field."""
    g = np.asarray(pixels, np.float32)
    g = g.mean(axis=2) if g.ndim == 3 else g
    for lag in lags:
        if g.shape[1] <= lag + 1:
            break
        a, b = g[:, :-lag].ravel(), g[:, lag:].ravel()
        if a.std() > 0 and b.std() > 0 and float(np.corrcoef(a, b)[0, 1]) < floor:
            return True
    return False


@dataclass(frozen=True)
class Calibration:
    """What one served version needs to calibrate scores: the background sample and the null models."""

    rows: np.ndarray  # the sample's row positions
    sample: np.ndarray  # their vectors, float32
    text: NullModel
    image: NullModel

    @classmethod
    def build(cls, vectors: np.ndarray, encode_text, encode_images) -> Calibration:
        """``vectors`` the version's (memory-mapped) rows; the encoders embed the probes."""
        from PIL import Image

        from paperclip.imaging import to_preview

        rows = sample_rows(len(vectors))
        sample = np.asarray(vectors[rows], dtype=np.float32)
        text = NullModel.fit(vectors, encode_text(null_texts()))
        image = NullModel.fit(vectors, encode_images([to_preview(Image.fromarray(a)) for a in null_images()]))
        return cls(rows, sample, text, image)

    def background(self, query: np.ndarray) -> Background:
        return Background.of(self.sample @ np.asarray(query, np.float32).reshape(-1))
