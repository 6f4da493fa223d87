"""Description retrieval without hubs: each description's scores measured against a bank of the
archive's own image embeddings.

Ranked by bare cosine, a few generic descriptions ("secular evolution", "super-Earths") sit close
to every image and come first for most of them, whatever the image shows: they are hubs. Query-bank
normalisation (the image->text half of CSLS, Conneau et al. 2018) subtracts from each description's
score its mean similarity to its ``k`` nearest archive images, so a description ranks first only
where an image is closer to it than the archive's own best matches of it usually are.

The penalty depends only on the index version's vectors and vocabulary, so it is computed once
when a version is written (``vocab_hub.npy`` beside ``vocab.npy``) and loaded with it.
"""

from __future__ import annotations

import numpy as np

HUB_K = 10  # nearest archive images whose mean similarity is a description's penalty
BANK = 200_000  # images in the bank: every vector up to this many, else a seeded sample
CHUNK = 65_536  # bank rows scored per step


def bank_rows(count: int, size: int = BANK, seed: int = 0) -> np.ndarray:
    """The bank's row positions: every row up to ``size``, else a fixed sorted sample."""
    if count <= size:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size, replace=False))


def term_hubness(image_vectors: np.ndarray, term_vectors: np.ndarray, k: int = HUB_K) -> np.ndarray:
    """``(terms,)`` float32: each term's mean similarity to its ``k`` nearest bank images.
    ``image_vectors`` may be memory-mapped float16; it is read in chunks."""
    terms = np.asarray(term_vectors, np.float32)
    rows = bank_rows(len(image_vectors))
    if not len(rows) or not len(terms):
        return np.zeros(len(terms), np.float32)
    k = min(k, len(rows))
    best = np.full((len(terms), 0), -np.inf, np.float32)
    for start in range(0, len(rows), CHUNK):
        chunk = np.asarray(image_vectors[rows[start : start + CHUNK]], np.float32)
        s = np.concatenate([best, terms @ chunk.T], axis=1)
        best = -np.partition(-s, k - 1, axis=1)[:, :k] if s.shape[1] > k else s
    return best.mean(axis=1).astype(np.float32)


def normalise(scores: np.ndarray, hubness: np.ndarray | None) -> np.ndarray:
    """Descriptions' cosines to an image (last axis over terms) less each term's hubness."""
    return scores if hubness is None else scores - hubness
