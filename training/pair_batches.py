"""Training and validation batches: previews as whole uint8 batches, augmented where they are used.

Each batch's previews come from the preview shards, falling back to the JPEG files
(``paperclip.preview_batches``), and its captions as tokens. For a GPU the uint8 batch travels
whole (pinned) and ``DeviceAugment`` crops, flips, turns and normalises it there; for the CPU the
same batched ops run where the batch is fetched (a worker, or this process over the mapped
shards), so only finished crops cross between processes. Every random choice is a function of the
sample's seed, so a resumed run sees the same pixels.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from paperclip.model import ClipModel
from paperclip.preview_batches import PreviewSource, RawPreviews
from paperclip.shards import PreviewShards
from paperclip.storage import ImageStore, get_paths
from training.config import TrainConfig
from training.data import Pair, fit_caption, token_fits
from training.device_augment import DeviceAugment

Item = tuple[int, int, bool]  # (pair index, sample seed, training)
Fetched = tuple[torch.Tensor | RawPreviews, torch.Tensor, list[int], bool]


def check(raw: RawPreviews) -> None:
    """An unreadable preview stops the run with the observation and the reason."""
    failed = [f"observation {i}: {e}" for i, e in zip(raw.ids, raw.errors, strict=True) if e]
    if failed:
        raise RuntimeError(f"unreadable previews, fix or remove them: {'; '.join(failed)}")


class _Fetch(Dataset):
    """The fetching side, picklable for workers: one item is a whole batch of (index, seed, train)."""

    def __init__(
        self, pairs: Sequence[Pair], clip: ClipModel, source: PreviewSource, config: TrainConfig, here: bool
    ):
        self.pairs, self.source, self.tokenizer = pairs, source, clip.tokenizer
        self.fits = token_fits(clip.tokenizer, clip.config["context_length"])
        self.augment = DeviceAugment(
            clip.image_size, clip.config["mean"], clip.config["std"], config.native_crop, config.flips
        )
        self.augment_train, self.augment_eval = config.augment, config.eval_augment
        self.here = here  # shape the pixels in the fetching process (a CPU consumer)
        # Summaries are fixed per proposal: tokenised once here, shared with forked workers.
        # Raw abstracts and varied captions are drawn per step (row -1).
        drawn = [p.kind == "raw" or bool(p.alternatives) for p in pairs]
        fixed = list(dict.fromkeys(p.caption for p, d in zip(pairs, drawn, strict=True) if not d))
        row = {text: i for i, text in enumerate(fixed)}
        self.token_row = torch.tensor(
            [-1 if d else row[p.caption] for p, d in zip(pairs, drawn, strict=True)], dtype=torch.long
        )
        chunks = [clip.tokenizer(fixed[i : i + 1024]) for i in range(0, len(fixed), 1024)]
        self.tokens = torch.cat(chunks) if chunks else None

    def __len__(self) -> int:
        return len(self.pairs)

    def window(self, index: int, seed: int, train: bool) -> str:
        """A raw caption is a whole abstract: a window of its sentences, random per seed in training.
        A varied caption is one of its alternatives, drawn per seed in training (else the summary)."""
        pair = self.pairs[index]
        if pair.alternatives:
            return random.Random(f"caption:{seed}").choice(pair.alternatives) if train else pair.caption
        return fit_caption(pair.caption, self.fits, random.Random(seed) if train else None)

    def shape(self, images, seeds: list[int], train: bool) -> torch.Tensor:
        """uint8 previews -> normalised model input: the seeded augmentation, or the centre crop."""
        augment = self.augment_train if train else self.augment_eval
        return self.augment.train(images, seeds) if augment else self.augment.eval(images)

    def __getitem__(self, items: Sequence[Item]) -> Fetched:
        index = [i for i, _, _ in items]
        rows = self.token_row[index]
        raw = (rows < 0).nonzero().flatten().tolist()
        if not raw:
            tokens = self.tokens[rows]
        elif len(raw) == len(items):
            tokens = self.tokenizer([self.window(*items[k]) for k in raw])
        else:
            fresh = self.tokenizer([self.window(*items[k]) for k in raw])
            tokens = self.tokens[rows.clamp(min=0)].index_copy_(0, torch.tensor(raw), fresh)
        seeds, train = [s for _, s, _ in items], bool(items[0][2]) if items else False
        previews = self.source.fetch(index, views=self.here)
        if not self.here:
            return previews, tokens, seeds, train
        check(previews)
        return self.shape(previews.pixels, seeds, train), tokens, seeds, train


class PairBatches:
    """(pixels, tokens) on ``device`` for lists of items; ``stream`` runs the fetching in workers."""

    def __init__(
        self,
        pairs: Sequence[Pair],
        clip: ClipModel,
        config: TrainConfig,
        device: torch.device,
        shards: PreviewShards | None,
        what: str = "training",
    ):
        store = ImageStore(get_paths().images)
        source = PreviewSource(
            [p.observation_id for p in pairs],
            [str(p.image_path.relative_to(store.root)) for p in pairs],
            store.root,
            shards,
            device,
        )
        source.announce(f"{what} ({len(pairs):,} pairs)")
        self.fetch = _Fetch(pairs, clip, source, config, here=device.type == "cpu")
        self.device = device

    def finish(
        self, pixels: torch.Tensor | RawPreviews, tokens: torch.Tensor, seeds: list[int], train: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A fetched batch on the device, shaped there unless the fetch already did."""
        if isinstance(pixels, RawPreviews):
            raw, pixels = pixels, pixels.to(self.device)
            check(raw)
            pixels = self.fetch.shape(pixels, seeds, train)
        return pixels, tokens.to(self.device, non_blocking=True)

    def load(self, items: Sequence[Item]) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch in this process (validation)."""
        return self.finish(*self.fetch[items])

    def stream(
        self, batches: Iterable[Sequence[Item]], workers: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches fetched ahead by ``workers`` processes (in this one with 0), pinned for a GPU.

        For the CPU with every preview in the shards this process reads them in place: workers
        would add a copy of each finished crop through shared memory (4x the CPU time here).
        """
        if self.fetch.here and self.fetch.source.from_shards == len(self.fetch.source.ids):
            workers = 0
        loader = DataLoader(
            self.fetch,
            batch_size=None,
            sampler=_Once(batches),
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            prefetch_factor=2 if workers else None,  # whole 512 px batches: 2 in flight per worker
            persistent_workers=False,
        )
        for batch in loader:
            yield self.finish(*batch)


class _Once:
    """An iterable of batches as a DataLoader sampler (iterated once: the training stream is endless)."""

    def __init__(self, batches: Iterable[Sequence[Item]]):
        self.batches = batches

    def __iter__(self) -> Iterator[Sequence[Item]]:
        return iter(self.batches)
