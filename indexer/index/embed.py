"""Embedding building blocks: preview decoding split around the model, and the work folder.

A work folder (``indexes/.work-<key>/``, one per model) collects ``chunk-*.npz`` files of
(ids, float16 vectors), each written atomically, so a killed run loses at most one chunk and
a rerun embeds only what is missing. The Ray Data job that fills it is ``indexer.index.embed_job``;
``loader`` and ``encode_batches`` embed in one process (``verify``'s sample, benchmarks).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from paperclip.model import CONFIG_FILE, WEIGHTS_FILE, ClipModel, preprocess_for
from paperclip.storage import ImageStore, atomic_write


@dataclass
class EmbedStats:
    embedded: int = 0
    failed: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def images_per_s(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0


class Pixels:
    """The model's preprocessing split in two: PIL steps in the decode workers, producing uint8,
    and ToTensor + Normalize on the model's device, so workers ship 4x fewer bytes per image.
    The arithmetic is torchvision's own (x / 255 - mean) / std, in float32 on either side."""

    def __init__(self, config: dict[str, Any]):
        from torchvision import transforms as T

        preprocess = preprocess_for(config)
        steps = list(getattr(preprocess, "transforms", []))
        self.size = int(config["image_size"])
        self.split = (
            len(steps) >= 2 and isinstance(steps[-2], T.ToTensor) and isinstance(steps[-1], T.Normalize)
        )
        if self.split:
            self.pil = T.Compose(steps[:-2])
            self.mean = torch.tensor(steps[-1].mean, dtype=torch.float32).view(1, 3, 1, 1)
            self.std = torch.tensor(steps[-1].std, dtype=torch.float32).view(1, 3, 1, 1)
        else:  # an unfamiliar transform runs whole in the workers
            self.pil = preprocess

    def load(self, path: Path) -> torch.Tensor:
        with Image.open(io.BytesIO(path.read_bytes())) as im:
            # JPEG DCT scaling decodes a 512 px preview at 256 px for a 224 px model: ~3x faster
            im.draft("RGB", (self.size, self.size))
            out = self.pil(im.convert("RGB"))
        if not self.split:
            return out
        return torch.from_numpy(np.asarray(out.convert("RGB"), dtype=np.uint8).copy()).permute(2, 0, 1)

    def blank(self) -> torch.Tensor:
        return torch.zeros(3, self.size, self.size, dtype=torch.uint8 if self.split else torch.float32)

    def finish(self, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
        """A loaded batch as the model's input, normalised on ``device``."""
        batch = batch.to(device, non_blocking=True)
        if not self.split:
            return batch
        return (batch.float() / 255 - self.mean.to(device)) / self.std.to(device)


class PreviewDataset(Dataset):
    """(observation id, pixels, error) per preview; a bad file becomes an error string, not a crash."""

    def __init__(self, items: list[tuple[int, str]], store_root: Path, pixels: Pixels):
        self.items = items
        self.store = ImageStore(store_root)
        self.pixels = pixels

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor, str]:
        obs_id, rel = self.items[i]
        try:
            return obs_id, self.pixels.load(self.store.resolve(rel)), ""
        except Exception as e:  # missing, outside the store, corrupt: reported, never fatal
            return obs_id, self.pixels.blank(), f"{type(e).__name__}: {e}"


def loader(
    clip: ClipModel, items: list[tuple[int, str]], store_root: Path, batch_size: int, workers: int
) -> Iterable:
    """Preview shards or nvJPEG on the device when they apply (``indexer.shards.loader``), else PIL."""
    from indexer.shards.loader import device_loader

    fast = device_loader(clip, items, store_root, batch_size, workers)
    if fast is not None:
        return fast
    return DataLoader(
        PreviewDataset(items, store_root, Pixels(clip.config)),
        batch_size=batch_size,
        num_workers=workers,
        pin_memory=clip.device.type == "cuda",
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
    )


def encode_batches(
    clip: ClipModel, batches: Iterable, progress: bool = True
) -> Iterator[tuple[np.ndarray, np.ndarray, dict[int, str]]]:
    """(ids, float32 vectors, failures) per batch, with an images/s progress bar."""
    pixels: Pixels = batches.dataset.pixels
    with tqdm(total=len(batches.dataset), unit="img", desc="embed", disable=not progress) as bar:
        for ids, batch, errors in batches:
            ok = np.array([not e for e in errors], dtype=bool)
            ids = ids.numpy().astype(np.int64)
            vectors = np.zeros((0, clip.dim), np.float32)
            if ok.any():
                model_input = pixels.finish(batch[torch.from_numpy(ok)], clip.device)
                vectors = clip.encode_image_tensor(model_input).cpu().numpy()
            yield ids[ok], vectors, {int(i): e for i, e in zip(ids, errors, strict=True) if e}
            bar.update(len(ids))


def model_key(spec: str) -> str:
    """Identifies the weights behind a spec, so chunks from another model are never mixed in."""
    parts = [spec]
    path = Path(spec)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if (path / name).is_file():
            st = (path / name).stat()
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


class WorkDir:
    """The chunks of one model's embeddings in progress."""

    def __init__(self, path: Path, spec: str = ""):
        self.path = path
        self.spec = spec

    @classmethod
    def for_model(cls, indexes: Path, spec: str) -> WorkDir:
        return cls(indexes / f".work-{model_key(spec)}", spec)

    def create(self) -> WorkDir:
        self.path.mkdir(parents=True, exist_ok=True)
        meta = self.path / "meta.json"
        if not meta.exists():
            atomic_write(meta, json.dumps({"model_spec": self.spec}).encode())
        return self

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One build per model at a time (a second waits rather than duplicating work)."""
        self.create()
        with (self.path / "lock").open("w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def chunks(self) -> list[Path]:
        return sorted(self.path.glob("chunk-*.npz")) if self.path.exists() else []

    def save(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """One chunk file, written whole or not at all, named to be unique across hosts."""
        if not len(ids):
            return
        buf = io.BytesIO()
        np.savez(buf, ids=ids.astype(np.int64), vectors=vectors.astype(np.float16))
        atomic_write(self.path / f"chunk-{time.time_ns()}-{uuid.uuid4().hex}.npz", buf.getvalue())

    def todo(self, items: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """The items no chunk holds yet."""
        ids = np.fromiter((i for i, _ in items), np.int64, len(items))
        return [items[i] for i in np.flatnonzero(~np.isin(ids, self.done_ids()))]

    def done_ids(self) -> np.ndarray:
        parts = [np.load(c)["ids"] for c in self.chunks()]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def merged(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All chunked (ids, float16 vectors) restricted to ``keep``, sorted by id, one row per id."""
        ids, vecs = [], []
        for c in self.chunks():
            with np.load(c) as z:
                ids.append(z["ids"])
                vecs.append(z["vectors"])
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float16)
        all_ids, all_vecs = np.concatenate(ids), np.concatenate(vecs)
        uniq, first = np.unique(all_ids, return_index=True)
        mask = np.isin(uniq, keep)
        return uniq[mask], all_vecs[first[mask]]

    def clear(self) -> None:
        """Drop the chunks once a version holds them; the folder and its lock stay for the holder."""
        for c in self.chunks():
            c.unlink(missing_ok=True)

    @staticmethod
    def remove_idle(indexes: Path) -> list[Path]:
        """Delete work folders no build holds (their chunks are lost: the next build re-embeds)."""
        removed = []
        for path in sorted(indexes.glob(".work-*")) if indexes.exists() else []:
            with (path / "lock").open("w") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        return removed
