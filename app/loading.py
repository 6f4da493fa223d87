"""Loading one index version for serving: files verified, the index and vectors memory-mapped
read-only (every worker and replica on a host shares one copy), metadata arrays, and the
accelerated copies a GPU allows.

What runs where (``docs/scaling.md``): with the model on CUDA, a flat index is searched as one
float16 matmul on the GPU; with CUDA FAISS present (and the model on CUDA), an IVF-PQ's inverted lists are searched on the
GPU and the candidates re-ranked on the CPU against the float16 vectors; HNSW, filtered searches
and everything on a CPU-only host run in CPU FAISS with one OpenMP thread per core.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.calibration import Calibration
from paperclip.db import session_scope
from paperclip.description_bank import term_hubness
from paperclip.index_files import IndexFiles, read_index_files
from paperclip.index_meta import COLUMNS, MetaTable, read_from_db
from paperclip.query_embedding import QueryOptions, embed_queries

log = logging.getLogger("paperclip.app")


@dataclass(frozen=True)
class GpuIvf:
    """A GPU copy of an IVF index's coarse stage; ``k_factor`` candidates per hit are re-ranked."""

    index: Any
    resources: Any  # the GPU index does not own its resources: they must live as long as it
    k_factor: int


@dataclass(frozen=True)
class Loaded:
    """One served index version with everything a query needs. Row ``i`` of ``vectors``, of the
    metadata arrays and position ``i`` of the index are all observation ``files.ids[i]``."""

    version_id: int
    model: Any  # paperclip.model.ClipModel
    files: IndexFiles
    vectors: np.ndarray  # memory-mapped float16
    sorted_ids: np.ndarray
    order: np.ndarray  # position in ``files.ids`` of each entry of ``sorted_ids``
    vocab_vectors: np.ndarray
    metadata: MetaTable
    synthetic: bool
    inner: Any  # the index inside the IndexIDMap, searched by position (with selectors)
    device_vectors: Any = None  # on a GPU, a float16 torch copy of a flat index
    gpu_ivf: GpuIvf | None = None
    calibration: Calibration | None = None  # None for an empty index
    vocab_hub: np.ndarray | None = None  # each description's hubness (paperclip.description_bank)

    @property
    def kind(self) -> str:
        return str(self.files.manifest.get("kind", "flat"))

    def vector_of(self, observation_id: int) -> np.ndarray | None:
        i = int(np.searchsorted(self.sorted_ids, observation_id))
        if i >= len(self.sorted_ids) or self.sorted_ids[i] != observation_id:
            return None
        return np.asarray(self.vectors[self.order[i]], dtype=np.float32)


def load_version(
    version_id: int,
    model_for: Callable[[IndexFiles], Any],
    path: Path,
    db_url: str,
    query: QueryOptions = QueryOptions(),
) -> Loaded:
    """Read and check a version; raises (and the caller keeps serving what it has) when unusable.
    ``model_for`` gives the model whose weights embedded the files (or refuses); ``query`` is how
    text queries are embedded, so the meaningless probes calibrating them are embedded alike."""
    import faiss

    files = read_index_files(path, verify=True, mmap=True)  # one copy in the page cache per host
    if not hasattr(files.index, "id_map"):
        raise ValueError("index is not id-mapped (IndexIDMap): its labels would not be observation ids")
    model = model_for(files)
    if files.count and model.dim != files.index.d:
        raise ValueError(f"model {model.spec} embeds {model.dim}-d vectors, index holds {files.index.d}-d")
    if not np.array_equal(faiss.vector_to_array(files.index.id_map), files.ids):
        raise ValueError("index positions do not follow ids.npy: vectors and metadata would not line up")
    metadata = files.metadata
    missing = [c.name for c in COLUMNS if metadata is None or c.name not in metadata.columns]
    if missing:  # written before (some) metadata arrays existed: read them once, here
        log.warning("index version %s lacks metadata %s; reading them from the database", version_id, missing)
        with session_scope(db_url) as s:
            full = read_from_db(s, files.ids)
        if metadata is None:
            metadata = full
        for name in missing:
            metadata.columns[name] = full.columns[name]
            if name in full.dictionaries:
                metadata.dictionaries[name] = full.dictionaries[name]
    vectors = np.load(path / "vectors.npy", mmap_mode="r")
    order = np.argsort(files.ids, kind="stable")
    vocab_vectors = np.asarray(files.vocab_vectors, dtype=np.float32).reshape(len(files.vocab), -1)
    vocab_hub = files.vocab_hub  # written with the version; computed here for versions that predate it
    if vocab_hub is None or len(vocab_hub) != len(vocab_vectors):
        vocab_hub = term_hubness(vectors, vocab_vectors)

    def encode_queries(texts: list[str]) -> np.ndarray:
        return embed_queries(model.encode_text, texts, vocab_vectors, query)

    return Loaded(
        version_id,
        model,
        files,
        vectors,
        files.ids[order],
        order,
        vocab_vectors,
        metadata,
        synthetic=bool(metadata.equals("collection", "SYNTH").any()),
        inner=faiss.downcast_index(files.index.index),
        device_vectors=_device_vectors(model, files),
        gpu_ivf=gpu_ivf(files.index.index) if files.count and model.device.type == "cuda" else None,
        calibration=Calibration.build(vectors, encode_queries, model.encode_images) if files.count else None,
        vocab_hub=vocab_hub,
    )


def _device_vectors(model: Any, files: IndexFiles) -> Any:
    """Exact inner-product search on the model's GPU, for flat indexes."""
    if model.device.type != "cuda" or files.manifest.get("kind") != "flat" or not files.count:
        return None
    import torch

    return torch.from_numpy(np.load(files.path / "vectors.npy")).to(model.device, torch.float16)


def gpu_ivf(inner: Any) -> GpuIvf | None:
    """With CUDA FAISS and a GPU: the IVF stage of an IVF(-PQ) index copied to GPU 0."""
    import faiss

    if not hasattr(faiss, "StandardGpuResources") or faiss.get_num_gpus() == 0:
        return None
    inner = faiss.downcast_index(inner)
    k_factor = 1
    if isinstance(inner, faiss.IndexRefine):
        k_factor = int(inner.k_factor)
        inner = faiss.downcast_index(inner.base_index)
    if not isinstance(inner, faiss.IndexIVF):
        return None
    resources = faiss.StandardGpuResources()
    options = faiss.GpuClonerOptions()
    options.useFloat16 = True  # float16 lookup tables: PQ with 64 sub-quantizers fits shared memory
    index = faiss.index_cpu_to_gpu(resources, 0, inner, options)
    index.nprobe = inner.nprobe
    log.info("IVF search on the GPU (nprobe %s, re-rank x%s on the CPU)", inner.nprobe, k_factor)
    return GpuIvf(index, resources, k_factor)
