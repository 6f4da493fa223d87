"""Description retrieval without hubs: each description's scores measured against a bank of the
archive's own image embeddings.

Ranked by bare cosine, a few generic descriptions ("secular evolution", "super-Earths") sit close
to every image and come first for many of them, whatever the image shows: they are hubs. Query-bank
normalisation subtracts from each description's score its mean similarity to a bank of the
archive's own images, so a description ranks first only where an image is closer to it than the
archive is on average. CSLS (Conneau et al. 2018) takes the mean over the description's ``k``
nearest images instead; measured on the demo archive (``benchmarks/bench_query.py``) that
penalises exactly the descriptions the archive is about (a class's own term is closest to its own
class's images) and drops class hit@5 from 0.54 to 0.16 at k=10 on the final demo, while the
whole-bank mean raises it to 0.60, so the whole bank is the default and ``k`` stays for comparison.

The penalty depends only on the index version's vectors and vocabulary, so it is computed once
when a version is written (``vocab_hub.npy`` beside ``vocab.npy``) and loaded with it.
"""

from __future__ import annotations

import numpy as np

BANK = 200_000  # images in the bank: every vector up to this many, else a seeded sample
CHUNK = 65_536  # bank rows scored per step


def bank_rows(count: int, size: int = BANK, seed: int = 0) -> np.ndarray:
    """The bank's row positions: every row up to ``size``, else a fixed sorted sample."""
    if count <= size:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size, replace=False))


def term_hubness(image_vectors: np.ndarray, term_vectors: np.ndarray, k: int | None = None) -> np.ndarray:
    """``(terms,)`` float32: each term's mean similarity to the bank's images, or (CSLS) to its
    ``k`` nearest ones. ``image_vectors`` may be memory-mapped float16; it is read in chunks."""
    terms = np.asarray(term_vectors, np.float32)
    rows = bank_rows(len(image_vectors))
    if not len(rows) or not len(terms):
        return np.zeros(len(terms), np.float32)
    k = len(rows) if k is None else min(k, len(rows))
    total = np.zeros(len(terms), np.float64)
    best = np.full((len(terms), 0), -np.inf, np.float32)
    for start in range(0, len(rows), CHUNK):
        s = terms @ np.asarray(image_vectors[rows[start : start + CHUNK]], np.float32).T
        if k == len(rows):
            total += s.sum(axis=1)
            continue
        s = np.concatenate([best, s], axis=1)
        best = -np.partition(-s, k - 1, axis=1)[:, :k] if s.shape[1] > k else s
    mean = total / len(rows) if k == len(rows) else best.mean(axis=1)
    return mean.astype(np.float32)


def normalise(scores: np.ndarray, hubness: np.ndarray | None) -> np.ndarray:
    """Descriptions' cosines to an image (last axis over terms) less each term's hubness."""
    return scores if hubness is None else scores - hubness
