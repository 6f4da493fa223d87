"""Training and embedding read the shards by default, equal to the JPEG path, and say when they fall back."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from sqlalchemy import select

from indexer.index.embed import encode_batches, loader
from indexer.shards.build import build
from paperclip.db import session_scope
from paperclip.model import load_model
from paperclip.preview_batches import PreviewSource
from paperclip.schema import Observation
from paperclip.shards import PreviewShards
from paperclip.storage import ImageStore, get_paths
from training.config import TrainConfig
from training.data import Pair
from training.pair_batches import PairBatches
from training.train import train

CPU = torch.device("cpu")


def _items() -> list[tuple[int, str]]:
    with session_scope() as s:
        return [
            tuple(r)
            for r in s.execute(select(Observation.id, Observation.local_path).order_by(Observation.id))
        ]


def _pairs() -> list[Pair]:
    store = ImageStore(get_paths().images)
    return [Pair(i, i, store.resolve(rel), f"caption {i}", None) for i, rel in _items()]


def _spoil_jpegs() -> None:
    """Every preview file made undecodable: only the shards can still provide the pixels."""
    for path in (get_paths().images / "preview").rglob("*.jpg"):
        path.write_bytes(b"\xff\xd8\xff spoiled")


def test_training_batches_from_shards_equal_those_from_jpeg_and_fallback_is_announced(
    previews, tiny_model, caplog
):
    previews(6)
    pairs = _pairs()
    config = TrainConfig.from_recipe("tiny", name="x")
    items = [(i, 1000 + i, True) for i in range(6)]
    with caplog.at_level(logging.INFO):
        jpeg = PairBatches(pairs, tiny_model, config, CPU, PreviewShards.open())
    assert (
        "6 of 6 previews come from their JPEG files" in caplog.text
        and "paperclip shards build" in caplog.text
    )
    build(progress=False)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        shards = PairBatches(pairs, tiny_model, config, CPU, PreviewShards.open())
    assert "all 6 previews from the preview shards" in caplog.text and "JPEG" not in caplog.text
    a, b = jpeg.load(items), shards.load(items)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    streamed = next(shards.stream([items], workers=0))
    assert torch.equal(streamed[0], a[0])
    val = [(i, 0, False) for i in range(6)]
    assert torch.equal(jpeg.load(val)[0], shards.load(val)[0])


def test_mixed_batches_and_a_missing_file_stops_training_with_its_name(previews, tiny_model):
    previews(4)
    build(progress=False)
    previews(2, offset=10)  # not in the shards yet
    pairs = _pairs()
    config = TrainConfig.from_recipe("tiny", name="x")
    feed = PairBatches(pairs, tiny_model, config, CPU, PreviewShards.open())
    assert feed.fetch.source.from_shards == 4
    items = [(i, i, True) for i in range(6)]
    ref = PairBatches(pairs, tiny_model, config, CPU, None).load(items)[0]
    assert torch.equal(feed.load(items)[0], ref)
    assert torch.equal(next(feed.stream([items], workers=1))[0], ref)  # fetched in a worker process
    pairs[5].image_path.unlink()
    with pytest.raises(RuntimeError, match=f"observation {pairs[5].observation_id}: .*FileNotFoundError"):
        feed.load(items)


def test_jpeg_bytes_decoded_as_one_batch_on_the_consumer_device_equal_pil(previews):
    previews(3)
    items = _items()
    store = ImageStore(get_paths().images)
    source = PreviewSource([i for i, _ in items], [p for _, p in items], store.root, None, CPU)
    source.decode_on_device, source.views = True, False  # the CUDA consumer's path, decoded here on the CPU
    raw = source.fetch([0, 1, 2])
    assert raw.jpeg_rows == [0, 1, 2] and raw.jpeg_ends[-1] == len(raw.jpeg)
    source.decode_on_device = False
    assert torch.equal(raw.to(CPU), source.fetch([0, 1, 2]).pixels)
    raw.jpeg[: raw.jpeg_ends[0]] = 0  # the first file is garbage: found and reported, the rest decoded
    out = raw.to(CPU)
    assert raw.errors[0].startswith("cannot decode JPEG") and raw.errors[1:] == ["", ""]
    assert not out[0].any() and torch.equal(out[1:], source.fetch([1, 2]).pixels)


def test_training_runs_from_shards_alone(previews):
    previews(8)
    build(progress=False)
    _spoil_jpegs()  # only the shards can feed this run
    path = train(TrainConfig.from_recipe("tiny", name="from-shards", steps=3, val_every=3, val_fraction=0.25))
    assert (path / "paperclip_model.json").is_file()


def test_embedding_reads_shards_and_matches_the_jpeg_path(previews, caplog):
    previews(5)
    clip = load_model("tiny", "cpu")
    items = _items()
    root = get_paths().images
    with caplog.at_level(logging.WARNING):
        batches = loader(clip, items, root, 4, 0)
    assert "5 of 5 previews come from their JPEG files, decoded on the CPU" in caplog.text
    jpeg = np.concatenate([v for _, v, _ in encode_batches(clip, batches, False)])
    build(progress=False)
    _spoil_jpegs()
    ids, vectors, failed = zip(*encode_batches(clip, loader(clip, items, root, 4, 0), False), strict=True)
    shards = np.concatenate(vectors)
    assert np.concatenate(ids).tolist() == [i for i, _ in items] and not any(failed)
    assert np.min(np.sum(jpeg * shards, axis=1)) > 0.99  # full decode + batched resize vs reduced-size PIL
