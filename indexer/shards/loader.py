"""Embedding input as whole uint8 batches: from the preview shards, or on CUDA from JPEGs decoded
there in one batched nvJPEG call. Resize, centre crop and normalisation are batched tensor ops
(``paperclip.preview_batches.EvalPixels``) on the GPU, or for the CPU in the fetching process.

``device_loader`` is what ``indexer.index.embed.loader`` tries first; it yields what that loader
yields, (ids, pixels, errors) per batch, the pixels already the model's input.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from paperclip.model import ClipModel
from paperclip.preview_batches import EvalPixels, PreviewSource, RawPreviews
from paperclip.shards import PreviewShards


class ReadyPixels:
    """The ``finish`` step of ``encode_batches`` for batches that are already the model's input."""

    def finish(self, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
        return batch.to(device, non_blocking=True)


class _Rows(Dataset):
    """One item is a whole batch of rows; picklable for DataLoader workers. For the CPU it returns
    the model's input, for a GPU the raw batch (the device finishes it)."""

    def __init__(self, source: PreviewSource, shape: EvalPixels, here: bool):
        self.source, self.shape, self.here = source, shape, here
        self.pixels = ReadyPixels()

    def __len__(self) -> int:
        return len(self.source.ids)

    def __getitem__(self, rows: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor | RawPreviews, list[str]]:
        ids = torch.from_numpy(self.source.ids[np.asarray(rows, dtype=np.int64)])
        raw = self.source.fetch(rows, views=self.here)
        return ids, (self.shape(raw.pixels) if self.here else raw), raw.errors


class DeviceBatches:
    """(ids, model input on the device, errors) per batch, fetched ahead by ``workers`` processes."""

    def __init__(self, clip: ClipModel, source: PreviewSource, batch_size: int, workers: int):
        self.dataset = _Rows(source, EvalPixels(clip.config), here=clip.device.type == "cpu")
        self.device, self.batch_size, self.workers = clip.device, batch_size, workers

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, list[str]]]:
        n = len(self.dataset)
        loader = DataLoader(
            self.dataset,
            batch_size=None,
            sampler=[list(range(i, min(i + self.batch_size, n))) for i in range(0, n, self.batch_size)],
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            prefetch_factor=2 if self.workers else None,  # whole 512 px batches: 2 per worker
            persistent_workers=False,
        )
        for ids, pixels, errors in loader:
            if isinstance(pixels, RawPreviews):
                raw, pixels = pixels, self.dataset.shape(pixels.to(self.device))
                errors = raw.errors
            yield ids, pixels, errors


def device_loader(
    clip: ClipModel, items: list[tuple[int, str]], store_root: Path, batch_size: int, workers: int
) -> DeviceBatches | None:
    """Shards when they hold any of ``items``, nvJPEG on CUDA; None leaves the CPU's JPEG path
    (reduced-size decoding in workers), which beats full decoding plus a resize there."""
    source = PreviewSource(
        [i for i, _ in items],
        [p for _, p in items],
        store_root,
        PreviewShards.open(),
        clip.device,
    )
    source.announce(f"embedding ({len(items):,} previews)")
    if not source.from_shards and not source.decode_on_device:
        return None
    return DeviceBatches(clip, source, batch_size, workers)
