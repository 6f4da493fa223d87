"""Index search for a batch of waiting queries: one pass over the index for all unfiltered ones.

Runs on the search batcher's single thread, so FAISS may use every core (OpenMP across the
batch's queries) without requests contending for them. Results are (scores, positions): position
``i`` is observation ``files.ids[i]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.filtered import Result, filtered_search
from app.loading import Loaded


@dataclass(frozen=True)
class Query:
    loaded: Loaded
    vector: np.ndarray  # (d,) float32
    k: int
    allowed: np.ndarray | None = None  # a row mask over the version; None: unfiltered


def run_batch(items: list[Query], exact_max: int, threads: int) -> list[Result]:
    """Answer a batch; FAISS gets one OpenMP thread per query up to ``threads`` (a lone query
    gains nothing from a parallel region, and on a busy host pays for its barriers)."""
    import faiss

    faiss.omp_set_num_threads(max(1, min(threads, len(items))))  # this thread's setting only
    out: list[Any] = [None] * len(items)
    groups: dict[int, list[int]] = {}
    for n, q in enumerate(items):
        if q.allowed is None:
            groups.setdefault(id(q.loaded), []).append(n)
        else:
            out[n] = filtered_search(q.loaded, q.vector, q.k, q.allowed, exact_max)
    for members in groups.values():
        loaded = items[members[0]].loaded
        queries = np.stack([items[n].vector for n in members]).astype(np.float32)
        k = min(max(items[n].k for n in members), loaded.files.count)
        scores, positions = unfiltered(loaded, queries, k)
        for row, n in enumerate(members):
            kn = items[n].k
            keep = positions[row, :kn] >= 0
            out[n] = (scores[row : row + 1, :kn][:, keep], positions[row : row + 1, :kn][:, keep])
    return out


def unfiltered(loaded: Loaded, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if loaded.device_vectors is not None:
        return _device_search(loaded, queries, k)
    if loaded.gpu_ivf is not None:
        return _gpu_ivf_search(loaded, queries, k)
    return loaded.inner.search(np.ascontiguousarray(queries), k)


def _device_search(loaded: Loaded, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    import torch

    q = torch.from_numpy(queries).to(loaded.device_vectors.device, torch.float16)
    top = torch.topk(q @ loaded.device_vectors.T, k, dim=1)
    return top.values.float().cpu().numpy(), top.indices.cpu().numpy()


def _gpu_ivf_search(loaded: Loaded, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidates from the GPU's IVF lists, re-ranked exactly against the float16 vectors (what
    the CPU index's refine stage does), so scores are true inner products."""
    gpu = loaded.gpu_ivf
    want = min(k * gpu.k_factor, loaded.files.count)
    _, candidates = gpu.index.search(np.ascontiguousarray(queries), want)
    scores = np.full((len(queries), k), -np.inf, np.float32)
    positions = np.full((len(queries), k), -1, np.int64)
    for row, cand in enumerate(candidates):
        cand = cand[cand >= 0]
        exact = np.asarray(loaded.vectors[np.sort(cand)], np.float32) @ queries[row]
        order = np.argsort(-exact, kind="stable")[:k]
        scores[row, : len(order)] = exact[order]
        positions[row, : len(order)] = np.sort(cand)[order]
    return scores, positions
