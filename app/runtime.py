"""The model, the active index and the vocabulary embeddings, loaded once and swapped in place.

A background task polls ``index_versions.active``; a newly activated version is loaded and
verified off to the side and only then replaces the one being served, so requests never see a
half-loaded index. A version that fails to load is logged and remembered (not retried until
another version is activated) and the previous one keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app import queries
from app.metrics import BATCH_BUCKETS, Metrics
from paperclip.config import Settings
from paperclip.db import session_scope
from paperclip.index_files import IndexFiles, check_weights, read_index_files
from paperclip.storage import get_paths

log = logging.getLogger("paperclip.app")


class NotReady(RuntimeError):
    """No index is loaded yet: the service answers 503 until one is."""


@dataclass(frozen=True)
class Loaded:
    """One served index version with everything a query needs."""

    version_id: int
    model: Any  # paperclip.model.ClipModel
    files: IndexFiles
    vectors: np.ndarray  # memory-mapped float16 rows, in the order of ``files.ids``
    sorted_ids: np.ndarray
    order: np.ndarray  # position in ``files.ids`` of each entry of ``sorted_ids``
    vocab_vectors: np.ndarray
    synthetic: bool
    inner: Any = None  # the index inside the IndexIDMap, searched directly when filtering
    id_map: np.ndarray | None = None  # observation id of each of its positions
    device_vectors: Any = None  # on a GPU, a float16 torch copy of a flat index: search is one matmul

    def vector_of(self, observation_id: int) -> np.ndarray | None:
        i = int(np.searchsorted(self.sorted_ids, observation_id))
        if i >= len(self.sorted_ids) or self.sorted_ids[i] != observation_id:
            return None
        return np.asarray(self.vectors[self.order[i]], dtype=np.float32)


class TextCache:
    """LRU of text embeddings keyed by (weights hash, text): repeated queries skip the encoder."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> np.ndarray | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[str, str], value: np.ndarray) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class Batcher:
    """Runs work from concurrent requests together: one call of ``process`` per batch of waiting items.

    A single thread does the work, so requests never oversubscribe the CPU; while it is busy, new
    items queue up and go in the next batch (no waiting when the service is idle). Text encoding
    and flat search both cost far less per item in a batch (one pass over weights or vectors).
    """

    def __init__(
        self,
        name: str,
        process: Callable[[list[Any]], list[Any]],
        on_batch: Callable[[int, float], None],
        max_batch: int = 64,
    ):
        self._process = process
        self._on_batch = on_batch
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Any, Future]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def __call__(self, item: Any) -> Any:
        future: Future = Future()
        self._queue.put((item, future))
        return future.result()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            t0 = time.perf_counter()
            try:
                results = self._process([item for item, _ in batch])
            except Exception as e:
                for _, future in batch:
                    future.set_exception(e)
                continue
            self._on_batch(len(batch), time.perf_counter() - t0)
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)


def _search_params(index: Any, selector: Any) -> tuple[Any, list[Any]]:
    """Search parameters of the right type for ``index`` (refined, IVF, HNSW or flat) carrying a
    selector, plus the nested objects that must outlive the search (SWIG does not own them)."""
    import faiss

    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexRefine):
        base, keep = _search_params(index.base_index, selector)
        params = faiss.IndexRefineSearchParameters(k_factor=index.k_factor, sel=selector)
        params.base_index_params = base
        return params, [base, *keep]
    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe), []
    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=index.hnsw.efSearch), []
    return faiss.SearchParameters(sel=selector), []


class Runtime:
    def __init__(self, settings: Settings, metrics: Metrics):
        self.settings = settings
        self.metrics = metrics
        self.loaded: Loaded | None = None
        self.last_error: str | None = None
        self._failed_version: int | None = None
        self._models: dict[str, Any] = {}
        self._batchers: dict[str, Batcher] = {}
        self._cache = TextCache(settings.text_cache_size)
        self._load_lock = threading.Lock()
        self._batchers_lock = threading.Lock()
        self._search_batcher = Batcher(
            "search-batcher",
            self._search_batch,
            lambda size, seconds: self.metrics.observe("paperclip_search_seconds", seconds),
        )

    # -- loading -----------------------------------------------------------------------------------
    def current(self) -> Loaded:
        if self.loaded is None:
            raise NotReady(
                self.last_error or "no active index version yet: build one with `paperclip index build`"
            )
        return self.loaded

    def _model(self, spec: str, files: IndexFiles) -> Any:
        """The model that embedded ``files``, cached by its weights' content hash (a retrained
        checkpoint is a new model even at the same path); other weights are refused."""
        expected = files.manifest.get("weights_sha256")
        if expected not in self._models:
            from paperclip.model import load_model

            model = load_model(spec, device=self.settings.device)
            check_weights(files.manifest, model.weights_sha256)
            self._models[model.weights_sha256] = model
            return model
        return self._models[expected]

    def _resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        if p.is_absolute():
            return p
        paths = get_paths(self.settings)
        return paths.indexes / p if (paths.indexes / p).exists() else paths.home / p

    def refresh(self) -> bool:
        """Load the active version if it is not the one being served; True when a new one swapped in."""
        with self._load_lock:
            with session_scope(self.settings.db_url) as s:
                row = queries.active_index_version(s)
                if row is None or (self.loaded and self.loaded.version_id == row.id):
                    return False
                if row.id == self._failed_version:
                    return False
                version_id, spec, path = row.id, row.model_spec, row.path
                collections = queries.collections(s)
            try:
                loaded = self._load(version_id, spec, self._resolve(path), collections)
            except Exception as e:
                self._failed_version = version_id
                self.last_error = f"index version {version_id} failed to load: {e}"
                self.metrics.inc("paperclip_index_load_failures_total")
                log.error("%s; still serving %s", self.last_error, self.loaded and self.loaded.version_id)
                return False
            self.loaded, self.last_error, self._failed_version = loaded, None, None
            self.metrics.set("paperclip_index_vectors", loaded.files.count)
            self.metrics.set("paperclip_index_version", version_id)
            log.info("serving index version %s (%s vectors, model %s)", version_id, loaded.files.count, spec)
            return True

    def _load(self, version_id: int, spec: str, path: Path, collections: set[str]) -> Loaded:
        import faiss

        files = read_index_files(path, verify=True)
        if not hasattr(files.index, "id_map"):
            raise ValueError("index is not id-mapped (IndexIDMap): its labels would not be observation ids")
        model = self._model(spec, files)
        if files.count and model.dim != files.index.d:
            raise ValueError(f"model {spec} embeds {model.dim}-d vectors, index holds {files.index.d}-d")
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
        order = np.argsort(files.ids, kind="stable")
        vocab_vectors = np.asarray(files.vocab_vectors, dtype=np.float32).reshape(len(files.vocab), -1)
        return Loaded(
            version_id,
            model,
            files,
            vectors,
            files.ids[order],
            order,
            vocab_vectors,
            synthetic="SYNTH" in collections,
            inner=faiss.downcast_index(files.index.index) if hasattr(files.index, "id_map") else None,
            id_map=faiss.vector_to_array(files.index.id_map) if hasattr(files.index, "id_map") else None,
            device_vectors=self._device_vectors(model, files),
        )

    def _device_vectors(self, model: Any, files: IndexFiles) -> Any:
        """Exact inner-product search on the model's GPU, for flat indexes (IVF/HNSW stay on FAISS)."""
        if model.device.type != "cuda" or files.manifest.get("kind") != "flat" or not files.count:
            return None
        import torch

        return torch.from_numpy(np.load(files.path / "vectors.npy")).to(model.device, torch.float16)

    async def poll(self) -> None:
        """Forever: pick up newly activated versions; DB outages are logged and retried."""
        while True:
            await asyncio.sleep(self.settings.index_poll_s)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception as e:  # the DB may be down; try again next round
                log.warning("index poll failed: %s", e)

    # -- embedding and search ----------------------------------------------------------------------
    def _batcher(self, model: Any) -> Batcher:
        with self._batchers_lock:
            if model.weights_sha256 not in self._batchers:
                encode = self._text_encoder(model)

                def process(texts: list[str]) -> list[np.ndarray]:
                    unique = list(dict.fromkeys(texts))  # a popular query arriving twice is encoded once
                    vectors = dict(zip(unique, encode(unique), strict=True))
                    return [vectors[t] for t in texts]

                def on_batch(size: int, seconds: float) -> None:
                    self.metrics.observe("paperclip_embed_seconds", seconds, kind="text")
                    self.metrics.observe("paperclip_embed_batch_size", size, buckets=BATCH_BUCKETS)

                self._batchers[model.weights_sha256] = Batcher("text-batcher", process, on_batch)
            return self._batchers[model.weights_sha256]

    def _text_encoder(self, model: Any) -> Callable[[list[str]], np.ndarray]:
        """The model's text encoder, made cheaper for one short query at a time.

        - Hugging Face text towers (lite) mask padding, so trailing pad columns are cut: the same
          vectors, several times less work for a five-word query than for 77 tokens.
        - With ``compile_text`` on a GPU: torch.compile with CUDA graphs; batches are padded to a
          power of two so only a few graph shapes exist.
        """
        import torch
        import torch.nn.functional as F
        from open_clip.hf_model import HFTextEncoder

        text = getattr(model.model, "text", None)
        pad = text.config.pad_token_id if isinstance(text, HFTextEncoder) else None
        if not (self.settings.compile_text and model.device.type == "cuda"):

            def encode(texts: list[str]) -> np.ndarray:
                tokens = model.tokenizer(texts)
                if pad is not None:
                    tokens = tokens[:, : int((tokens != pad).any(0).nonzero().max()) + 1]
                return model.encode_text_tensor(tokens).cpu().numpy()

            return encode

        compiled = torch.compile(model.model.encode_text, mode="reduce-overhead", dynamic=False)

        def encode_compiled(texts: list[str]) -> np.ndarray:
            tokens = model.tokenizer(texts)
            size = 1 << (len(texts) - 1).bit_length()
            tokens = torch.cat([tokens, tokens[:1].expand(size - len(texts), -1)]).to(model.device)
            with torch.inference_mode(), model.autocast():
                out = compiled(tokens)
            return F.normalize(out[: len(texts)].float(), dim=-1).cpu().numpy()

        return encode_compiled

    def embed_text(self, loaded: Loaded, text: str) -> np.ndarray:
        key = (loaded.model.weights_sha256, text)
        vec = self._cache.get(key)
        if vec is None:
            vec = self._batcher(loaded.model)(text)
            self._cache.put(key, vec)
        else:
            self.metrics.inc("paperclip_text_cache_hits_total")
        return vec

    def embed_image(self, loaded: Loaded, image: Image.Image) -> np.ndarray:
        from paperclip.imaging import to_preview

        t0 = time.perf_counter()
        vec = loaded.model.encode_images([to_preview(image)])[0]
        self.metrics.observe("paperclip_embed_seconds", time.perf_counter() - t0, kind="image")
        return vec

    def search(
        self, loaded: Loaded, vec: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (observation id, score); ``allowed`` restricts the search to those ids."""
        if k <= 0 or loaded.files.count == 0 or (allowed is not None and len(allowed) == 0):
            return []
        query = np.ascontiguousarray(vec.reshape(1, -1), dtype=np.float32)
        k = min(k, loaded.files.count)
        if allowed is None:
            scores, ids = self._search_batcher((loaded, query, k))
        else:
            t0 = time.perf_counter()
            scores, ids = self._filtered_search(loaded, query, k, allowed)
            self.metrics.observe("paperclip_search_seconds", time.perf_counter() - t0)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    @staticmethod
    def _search_batch(items: list[tuple[Loaded, np.ndarray, int]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """One index search for all waiting queries of the same version: a flat index then reads its
        vectors once per batch instead of once per query."""
        out: list[Any] = [None] * len(items)
        groups: dict[int, list[int]] = {}
        for n, (loaded, _, _) in enumerate(items):
            groups.setdefault(id(loaded), []).append(n)
        for members in groups.values():
            loaded = items[members[0]][0]
            queries = np.concatenate([items[n][1] for n in members])
            k = max(items[n][2] for n in members)
            if loaded.device_vectors is not None:
                scores, ids = Runtime._device_search(loaded, queries, k)
            else:
                scores, ids = loaded.files.index.search(queries, k)
            for row, n in enumerate(members):
                out[n] = (scores[row : row + 1, : items[n][2]], ids[row : row + 1, : items[n][2]])
        return out

    @staticmethod
    def _filtered_search(
        loaded: Loaded, query: np.ndarray, k: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Search only ``allowed`` observation ids: the inner index is searched with a selector over
        its own positions (nested parameters, as IVF-PQ + refine has, cannot see the id map)."""
        import faiss

        positions = np.flatnonzero(np.isin(loaded.id_map, allowed)).astype(np.int64)
        if not len(positions):
            return np.zeros((1, 0), np.float32), np.zeros((1, 0), np.int64)
        selector = faiss.IDSelectorBatch(len(positions), faiss.swig_ptr(positions))
        params, _keep = _search_params(loaded.inner, selector)
        scores, found = loaded.inner.search(query, min(k, len(positions)), params=params)
        return scores, np.where(found >= 0, loaded.id_map[np.maximum(found, 0)], -1)

    @staticmethod
    def _device_search(loaded: Loaded, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import torch

        q = torch.from_numpy(queries).to(loaded.device_vectors.device, torch.float16)
        top = torch.topk(q @ loaded.device_vectors.T, k, dim=1)
        return top.values.float().cpu().numpy(), loaded.files.ids[top.indices.cpu().numpy()]

    def describe(self, loaded: Loaded, vec: np.ndarray, k: int) -> list[tuple[dict[str, Any], float]]:
        """The vocabulary's science descriptions ranked by similarity to an image embedding."""
        if not len(loaded.vocab_vectors):
            return []
        scores = loaded.vocab_vectors @ vec.astype(np.float32)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(loaded.files.vocab[i], float(scores[i])) for i in top]
