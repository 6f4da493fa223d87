"""Embedding as a Ray Data job: previews decoded by CPU tasks, encoded by an actor pool holding
the model (one GPU per actor where the cluster has GPUs), written as chunk files by CPU tasks.

The to-do list is split into shards of ``Settings.embed_chunk`` previews; each shard ends up as
``chunk-*.npz`` files (ids int64, vectors float16) in the model's work folder
(``indexer.index.embed.WorkDir``), each written atomically, so a killed job keeps every chunk it
finished and a rerun embeds only the previews no chunk holds. ``ray.init()`` starts an embedded
cluster on this machine (``Settings.ray_num_cpus`` cores); with ``RAY_ADDRESS`` set the same call
joins that cluster, whose nodes must see the image store and the work folder (a shared volume).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from indexer.index.embed import EmbedStats, Pixels, WorkDir
from paperclip.storage import ImageStore


def ray_init(num_cpus: int | None) -> None:
    """Join ``RAY_ADDRESS``'s cluster, or start one here once per process (later jobs reuse it)."""
    import ray

    if ray.is_initialized():
        return
    if os.environ.get("RAY_ADDRESS"):
        ray.init()
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)


def decode(batch: dict[str, np.ndarray], config: dict[str, Any], store_root: str) -> dict[str, np.ndarray]:
    """Previews as the model's uint8 input; a bad file becomes an error string, not a crash."""
    pixels, store = Pixels(config), ImageStore(Path(store_root))
    images, errors = [], []
    for rel in batch["path"]:
        try:
            images.append(pixels.load(store.resolve(str(rel))).numpy())
            errors.append("")
        except Exception as e:  # missing, outside the store, corrupt: reported, never fatal
            images.append(pixels.blank().numpy())
            errors.append(f"{type(e).__name__}: {e}")
    return {"id": batch["id"], "pixels": np.stack(images), "error": np.array(errors, dtype=object)}


class Encoder:
    """One model per actor; Ray Data feeds it decoded batches."""

    def __init__(self, spec: str, device: str):
        from paperclip.model import load_model

        self.clip = load_model(spec, device)
        self.pixels = Pixels(self.clip.config)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        ok = np.array([not e for e in batch["error"]], dtype=bool)
        vectors = np.zeros((len(ok), self.clip.dim), np.float16)
        if ok.any():
            model_input = self.pixels.finish(torch.from_numpy(batch["pixels"][ok]), self.clip.device)
            with torch.inference_mode():
                vectors[ok] = self.clip.encode_image_tensor(model_input).cpu().numpy()
        return {"id": batch["id"], "vector": vectors, "error": batch["error"]}


def write_chunk(batch: dict[str, np.ndarray], work: str) -> dict[str, np.ndarray]:
    """Save the embedded rows as one chunk file; only ids and errors travel on to the driver."""
    ok = np.array([not e for e in batch["error"]], dtype=bool)
    WorkDir(Path(work)).save(np.asarray(batch["id"], np.int64)[ok], np.asarray(batch["vector"])[ok])
    return {"id": batch["id"], "error": batch["error"]}


def embed_job(
    spec: str,
    items: list[tuple[int, str]],
    work: WorkDir,
    store_root: Path,
    batch_size: int,
    chunk: int,
    num_cpus: int | None = None,
    progress: bool = True,
) -> EmbedStats:
    """Embed ``items`` into ``work`` with Ray Data; returns counts and the previews that failed."""
    import ray

    from paperclip.model import spec_config

    stats = EmbedStats()
    if not items:
        return stats
    start = time.perf_counter()
    ray_init(num_cpus)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    gpus = int(ray.cluster_resources().get("GPU", 0))
    encoder: dict[str, Any] = (
        {
            "num_gpus": 1,
            "compute": ray.data.ActorPoolStrategy(size=gpus),
            "fn_constructor_kwargs": {"spec": spec, "device": "cuda"},
        }
        if gpus
        else {  # on CPUs one actor, with half the cores for torch's threads; decoding gets the rest
            "num_cpus": max(1, cpus // 2),
            "compute": ray.data.ActorPoolStrategy(size=1),
            "fn_constructor_kwargs": {"spec": spec, "device": "cpu"},
        }
    )
    ds = (
        ray.data.from_items(  # one block per shard of ``chunk`` previews
            [{"id": i, "path": p} for i, p in items], override_num_blocks=-(-len(items) // chunk)
        )
        .map_batches(
            decode,
            fn_kwargs={"config": spec_config(spec), "store_root": str(store_root)},
            batch_size=batch_size,
            batch_format="numpy",
            num_cpus=0.5,  # mostly waiting on reads; and unlike the encoder's, so Ray keeps them apart
        )
        .map_batches(Encoder, batch_size=batch_size, batch_format="numpy", **encoder)
        .map_batches(
            write_chunk,
            fn_kwargs={"work": str(work.path)},
            batch_size=chunk,
            batch_format="numpy",
            num_cpus=0.5,
        )
    )
    with tqdm(total=len(items), unit="img", desc="embed", disable=not progress) as bar:
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            failed = {int(i): str(e) for i, e in zip(batch["id"], batch["error"], strict=True) if e}
            stats.failed.update(failed)
            stats.embedded += len(batch["id"]) - len(failed)
            bar.update(len(batch["id"]))
    stats.seconds = time.perf_counter() - start
    return stats
