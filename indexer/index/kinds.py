"""The FAISS index kinds a version can hold, all inner product over L2-normalised vectors.

- ``flat``: exact; the default up to ``Settings.index_exact_max`` vectors (50k: a query scans them
  all, ~12 ms for 512-d on one core, 2 KiB per vector).
- ``hnsw``: graph search (M=32, efSearch=128), ~2.3 KiB per 512-d vector, no training; the default
  up to ``Settings.index_hnsw_max`` (2M): ~1 ms a query at recall@10 >= 0.95, slow to build past that.
- ``ivfpq``: IVF lists of 8-bit PQ codes (d/8 bytes) whose top ``k * 32`` candidates are re-ranked
  against float16 copies: ~1.1 KiB per 512-d vector in one file, trained on a sample; the default
  beyond.

- ``ivfflat`` and ``ivfsq8``: IVF lists of float32 (4 d bytes) or 8-bit scalar codes (d bytes),
  trained on a sample and built on disk (``indexer.index.ondisk``): Ray tasks fill the lists shard
  by shard and FAISS merges them into one ``lists.ivfdata`` that the service memory-maps. For
  archives past one machine's RAM; never chosen by ``auto``.

Every kind is wrapped in an ``IndexIDMap`` so labels are observation ids, never positions, and the
search parameters (efSearch, nprobe, k_factor) are stored in the index file, so a reader needs
no knowledge of the kind to get the tuned recall.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

KINDS = ("flat", "hnsw", "ivfpq", "ivfflat", "ivfsq8")
ONDISK_KINDS = ("ivfflat", "ivfsq8")
IVF_CODECS = {"ivfflat": "Flat", "ivfsq8": "SQ8"}
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
PQ_DIMS_PER_BYTE = 8
REFINE_K_FACTOR = 32
IVF_MIN_VECTORS = 10_000  # 8-bit PQ needs 256 centroids x ~39 points to train
TRAIN_SAMPLE = 262_144


def choose_kind(kind: str, count: int, exact_max: int, hnsw_max: int) -> str:
    """``auto``: exact while a full scan is fast, HNSW while it fits RAM and builds in reasonable
    time, IVF-PQ beyond."""
    if kind == "auto":
        return "flat" if count <= exact_max else "hnsw" if count <= hnsw_max else "ivfpq"
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}: choose auto, {', '.join(KINDS)}")
    return kind


def ivf_params(count: int) -> tuple[int, int]:
    """(nlist, nprobe): ~4 sqrt(n) lists of at least 39 vectors, probing 1/16 of them."""
    nlist = max(1, min(int(4 * math.sqrt(count)), count // 39, 65_536))
    return nlist, min(256, max(8, nlist // 16))


def gpu_available() -> bool:
    import faiss

    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def make_index(kind: str, vectors: np.ndarray, ids: np.ndarray, seed: int = 0) -> Any:
    """A trained, filled index of ``kind`` over float32 ``vectors`` labelled with ``ids``."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    n, d = vectors.shape if vectors.ndim == 2 else (0, 0)
    if kind == "flat":
        inner = faiss.IndexFlatIP(d)
    elif kind == "hnsw":
        inner = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        inner.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind == "ivfpq":
        inner = _trained_ivfpq(vectors, seed)
    elif kind in ONDISK_KINDS:  # the same index in memory: what the on-disk build must match
        inner = trained_ivf(kind, vectors, seed)
    else:
        raise ValueError(f"unknown index kind {kind!r}")
    index = faiss.IndexIDMap(inner)
    _add(index, vectors, ids)
    return index


def refill(template: Any, vectors: np.ndarray, ids: np.ndarray) -> Any:
    """A copy of a built index emptied and refilled: keeps an IVF-PQ's training for ``add``."""
    import faiss

    index = faiss.clone_index(template)
    index.reset()
    _add(index, np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64))
    return index


def index_kind(index: Any) -> str:
    import faiss

    inner = faiss.downcast_index(index.index) if hasattr(index, "id_map") else index
    if isinstance(inner, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(inner, faiss.IndexIVFScalarQuantizer):
        return "ivfsq8"
    if isinstance(inner, faiss.IndexIVFFlat):
        return "ivfflat"
    if isinstance(inner, faiss.IndexRefine | faiss.IndexIVF):
        return "ivfpq"
    return "flat"


def index_ids(index: Any) -> np.ndarray:
    import faiss

    return faiss.vector_to_array(index.id_map).astype(np.int64)


def _add(index: Any, vectors: np.ndarray, ids: np.ndarray, batch: int = 65_536) -> None:
    for i in range(0, len(ids), batch):
        index.add_with_ids(vectors[i : i + batch], ids[i : i + batch])


def _trained_ivfpq(vectors: np.ndarray, seed: int) -> Any:
    import faiss

    n, d = vectors.shape
    if n < IVF_MIN_VECTORS:
        raise ValueError(f"ivfpq needs at least {IVF_MIN_VECTORS:,} vectors to train, got {n:,}: use flat")
    if d % PQ_DIMS_PER_BYTE:
        raise ValueError(f"ivfpq needs a dimension divisible by {PQ_DIMS_PER_BYTE}, got {d}")
    nlist, nprobe = ivf_params(n)
    ivf = faiss.IndexIVFPQ(
        faiss.IndexFlatIP(d), d, nlist, d // PQ_DIMS_PER_BYTE, 8, faiss.METRIC_INNER_PRODUCT
    )
    ivf.nprobe = nprobe
    ivf.cp.seed = seed
    gpu_kmeans = faiss.index_cpu_to_all_gpus(faiss.IndexFlatIP(d)) if gpu_available() else None
    if gpu_kmeans is not None:  # k-means on the GPU; the trained index is the same CPU index
        ivf.clustering_index = gpu_kmeans
    refine = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    index = faiss.IndexRefine(ivf, refine)
    index.k_factor = REFINE_K_FACTOR
    sample_size = min(n, max(TRAIN_SAMPLE, 64 * nlist))  # k-means wants tens of points per list
    sample = vectors
    if n > sample_size:
        sample = vectors[np.sort(np.random.default_rng(seed).choice(n, sample_size, replace=False))]
    index.train(sample)
    ivf.clustering_index = None
    return index


def trained_ivf(kind: str, sample: np.ndarray, seed: int = 0, count: int | None = None) -> Any:
    """An empty ``ivfflat``/``ivfsq8`` index trained on ``sample`` (rows drawn from ``count``
    vectors), lists sized for ``count``; a larger sample is subsampled with ``seed``."""
    import faiss

    n, d = sample.shape
    count = count or n
    if not n:
        raise ValueError(f"{kind} needs vectors to train on")
    nlist, nprobe = ivf_params(count)  # at least 39 vectors a list: small archives get few lists
    size = min(n, max(TRAIN_SAMPLE, 64 * nlist))
    if n > size:
        sample = sample[np.sort(np.random.default_rng(seed).choice(n, size, replace=False))]
    ivf = faiss.index_factory(d, f"IVF{nlist},{IVF_CODECS[kind]}", faiss.METRIC_INNER_PRODUCT)
    faiss.extract_index_ivf(ivf).nprobe = nprobe
    faiss.extract_index_ivf(ivf).cp.seed = seed
    ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
    return ivf


def train_sample_size(count: int) -> int:
    """Rows ``trained_ivf`` keeps from ``count`` vectors: tens of points per list."""
    return min(count, max(TRAIN_SAMPLE, 64 * ivf_params(count)[0]))
