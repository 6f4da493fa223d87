"""The model, the active index and the vocabulary embeddings, loaded once and swapped in place.

A background task polls ``index_versions.active``; a newly activated version is loaded and verified
off to the side (``app.loading``) and only then replaces the one being served, so requests never
see a half-loaded index. A version that fails to load is retried with exponential backoff while
the previous one keeps serving, and ``/ready`` says not ready until the active version is served.

Queries go through batchers (``app.batching``): texts to the text encoder, previews to the image
encoder, vectors to the index (``app.searching``, filters via ``app.filtered``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app import queries
from app.batching import Batcher, Saturated
from app.encoders import image_encoder, text_encoder
from app.filtered import Filters, mask
from app.loading import Loaded, load_version
from app.metrics import Metrics
from app.resolve import Resolver
from app.searching import Query, run_batch
from paperclip.config import Settings
from paperclip.db import session_scope
from paperclip.description_bank import normalise
from paperclip.index_files import IndexFiles, check_weights
from paperclip.query_embedding import QueryOptions, combine, prompt_texts
from paperclip.storage import get_paths

log = logging.getLogger("paperclip.app")


class NotReady(RuntimeError):
    """No index is loaded yet: the service answers 503 until one is."""


class LRU:
    """A small thread-safe LRU (text embeddings, filter masks)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass
class Failure:
    attempts: int
    retry_at: float  # time.monotonic()
    error: str


@dataclass(frozen=True)
class Readiness:
    served: int | None
    active: int | None
    last_error: str | None
    ready: bool


class Runtime:
    def __init__(self, settings: Settings, metrics: Metrics):
        self.settings = settings
        self.metrics = metrics
        self.loaded: Loaded | None = None
        self.last_error: str | None = None
        self.active_version: int | None = None
        self._failures: dict[int, Failure] = {}
        self._models: dict[str, Any] = {}
        self._batchers: dict[tuple[str, str], Batcher] = {}  # (kind, weights hash)
        self._text_cache = LRU(settings.text_cache_size)
        self.query_options = QueryOptions.from_settings(settings)
        self._masks = LRU(64)
        self._load_lock = threading.Lock()
        self._batchers_lock = threading.Lock()
        self.resolver = Resolver(
            self._target_positions, settings.sesame_url, settings.sesame_timeout_s, settings.sesame_retry_s
        )
        self.decodes = threading.BoundedSemaphore(settings.max_concurrent_decodes or os.cpu_count() or 1)
        threads = settings.search_threads or os.cpu_count() or 1
        self._search = self._make_batcher(
            "search", lambda items: run_batch(items, settings.filter_exact_max, threads), lambda n, s: None
        )

    def _make_batcher(self, name: str, process: Any, on_batch: Any) -> Batcher:
        s = self.settings
        return Batcher(name, process, on_batch, max_queue=s.queue_size, timeout_s=s.queue_timeout_s)

    def _target_positions(self, names: list[str]) -> list[tuple[str, float, float]]:
        with session_scope(self.settings.db_url) as s:
            return queries.target_positions(s, names)

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

    def refresh(self, force: bool = False) -> bool:
        """Load the active version if it is not the one served; True when a new one swapped in.
        A version that failed is retried once its backoff has passed (at once with ``force``)."""
        with self._load_lock:
            with session_scope(self.settings.db_url) as s:
                row = queries.active_index_version(s)
                self.active_version = row and row.id
                if row is None or (self.loaded and self.loaded.version_id == row.id):
                    return False
                version_id, spec, path = row.id, row.model_spec, row.path
            failure = self._failures.get(version_id)
            if failure and not force and time.monotonic() < failure.retry_at:
                return False
            try:
                loaded = load_version(
                    version_id,
                    lambda files: self._model(spec, files),
                    self._resolve(path),
                    self.settings.db_url,
                    self.query_options,
                )
            except Exception as e:
                attempts = failure.attempts + 1 if failure else 1
                delay = min(
                    self.settings.index_retry_max_s, self.settings.index_retry_s * 2 ** (attempts - 1)
                )
                self.last_error = f"index version {version_id} failed to load: {e}"
                self._failures[version_id] = Failure(attempts, time.monotonic() + delay, self.last_error)
                self.metrics.load_failures.inc()
                log.error(
                    "%s (attempt %s, next in %.0f s); still serving %s",
                    self.last_error,
                    attempts,
                    delay,
                    self.loaded and self.loaded.version_id,
                )
                return False
            self.loaded, self.last_error = loaded, None
            self._failures.pop(version_id, None)
            self.metrics.index_vectors.set(loaded.files.count)
            self.metrics.index_version.set(version_id)
            log.info("serving index version %s (%s vectors, model %s)", version_id, loaded.files.count, spec)
            return True

    def readiness(self, active: int | None) -> Readiness:
        """Ready when a version is served and the active one (``active``, read just now) is not one
        that failed to load: a replica that cannot serve what is active leaves the rotation."""
        served = self.loaded and self.loaded.version_id
        failure = self._failures.get(active) if active is not None else None
        ready = served is not None and (active is None or active == served or failure is None)
        error = failure.error if failure else self.last_error
        return Readiness(served, active, error, ready)

    async def poll(self) -> None:
        """Forever: pick up newly activated versions; DB outages are logged and retried."""
        while True:
            await asyncio.sleep(self.settings.index_poll_s)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception as e:  # the DB may be down; try again next round
                log.warning("index poll failed: %s", e)

    # -- embedding ---------------------------------------------------------------------------------
    def _encoder(self, kind: str, model: Any) -> Batcher:
        with self._batchers_lock:
            key = (kind, model.weights_sha256)
            if key not in self._batchers:
                if kind == "text":
                    cache = get_paths(self.settings).cache
                    encode = text_encoder(
                        model, self.settings.compile_text, self.settings.text_runtime, cache
                    )

                    def process(texts: list[str]) -> list[np.ndarray]:
                        unique = list(dict.fromkeys(texts))  # a popular query arriving twice is encoded once
                        vectors = dict(zip(unique, encode(unique), strict=True))
                        return [vectors[t] for t in texts]
                else:
                    process = image_encoder(model)

                def on_batch(size: int, seconds: float) -> None:
                    self.metrics.embed_seconds.labels(kind).observe(seconds)
                    self.metrics.embed_batch.labels(kind).observe(size)

                self._batchers[key] = self._make_batcher(f"{kind}-encoder", process, on_batch)
            return self._batchers[key]

    def embed_text(self, loaded: Loaded, text: str) -> np.ndarray:
        """A text query's vector (``paperclip.query_embedding``, configured in Settings)."""
        key = (loaded.model.weights_sha256, loaded.version_id, text)
        vec = self._text_cache.get(key)
        if vec is None:
            encoder = self._encoder("text", loaded.model)
            forms = np.stack([encoder(t) for t in prompt_texts(text, self.query_options)])
            vec = combine(forms, loaded.vocab_vectors, self.query_options)
            self._text_cache.put(key, vec)
        else:
            self.metrics.cache_hits.inc()
        return vec

    def embed_image(self, loaded: Loaded, image: Image.Image) -> np.ndarray:
        from paperclip.imaging import to_preview

        return self._encoder("image", loaded.model)(to_preview(image))

    # -- search ------------------------------------------------------------------------------------
    def allowed(self, loaded: Loaded, filters: Filters) -> np.ndarray:
        """The version's rows passing ``filters`` (cached: paging repeats them)."""
        key = (loaded.version_id, filters)
        rows = self._masks.get(key)
        if rows is None:
            rows = mask(loaded.metadata, filters)
            self._masks.put(key, rows)
        return rows

    def search(
        self, loaded: Loaded, vec: np.ndarray, k: int, filters: Filters | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (observation id, score), restricted by ``filters``."""
        if k <= 0 or loaded.files.count == 0:
            return []
        allowed = self.allowed(loaded, filters) if filters is not None and filters.any else None
        query = Query(loaded, np.asarray(vec, np.float32).reshape(-1), min(k, loaded.files.count), allowed)
        t0 = time.perf_counter()
        scores, positions = self._search(query)
        self.metrics.search_seconds.labels("batched" if allowed is None else "filtered").observe(
            time.perf_counter() - t0
        )
        ids = loaded.files.ids[positions[0]]
        return [(int(i), float(s)) for i, s in zip(ids, scores[0], strict=True)]

    def describe(self, loaded: Loaded, vec: np.ndarray, k: int) -> list[tuple[dict[str, Any], float, float]]:
        """The vocabulary's science descriptions for an image embedding, best first: (term, score,
        cosine); the score is the cosine less the term's hubness where ``describe_hub_norm``."""
        if not len(loaded.vocab_vectors):
            return []
        cosines = loaded.vocab_vectors @ vec.astype(np.float32)
        scores = normalise(cosines, loaded.vocab_hub if self.settings.describe_hub_norm else None)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(loaded.files.vocab[i], float(scores[i]), float(cosines[i])) for i in top]

    def decoding(self) -> Any:
        """A slot to decode one upload in; Saturated when every slot stays busy for a queue timeout."""
        return _Slot(self.decodes, self.settings.queue_timeout_s)


class _Slot:
    def __init__(self, gate: threading.BoundedSemaphore, timeout_s: float):
        self.gate, self.timeout_s = gate, timeout_s

    def __enter__(self) -> None:
        if not self.gate.acquire(timeout=self.timeout_s):
            raise Saturated("decode: every decode slot busy", max(1, round(self.timeout_s)))

    def __exit__(self, *exc: object) -> None:
        self.gate.release()
