"""Observations with real JPEG previews in the store and rows in the test database (both dialects)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from paperclip.db import session_scope
from paperclip.imaging import encode_jpeg, to_preview
from paperclip.schema import Caption, Observation, Proposal
from paperclip.storage import ImageStore, get_paths


def sky(seed: int, size: tuple[int, int] = (300, 220)) -> Image.Image:
    """A distinct picture per seed (blobs on noise, not square, so the preview is white-padded)."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = rng.normal(30, 10, (h, w, 3))
    for _ in range(5):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(4, 30)
        img += rng.uniform(60, 200, 3) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
    return Image.fromarray(img.clip(0, 255).astype(np.uint8))


def add_previews(n: int, offset: int = 0, per_proposal: int = 1) -> list[int]:
    """``n`` observations with stored 512 px JPEG previews, captioned; returns their ids."""
    store = ImageStore(get_paths().ensure().images)
    ids = []
    with session_scope() as s:
        for i in range(offset, offset + n):
            if (i - offset) % per_proposal == 0:
                proposal = Proposal(collection="TEST", proposal_id=f"S{i:05d}", abstract=f"Field {i}.")
                s.add(proposal)
                s.flush()
                s.add(
                    Caption(proposal_pk=proposal.id, kind="summary", generator="extract", text=f"field {i}")
                )
            rel, digest = store.put(encode_jpeg(to_preview(sky(i))), "preview", "jpg")
            obs = Observation(
                proposal_pk=proposal.id, collection="TEST", obs_id=f"s{i}", local_path=rel, sha256=digest
            )
            s.add(obs)
            s.flush()
            ids.append(obs.id)
    return ids


@pytest.fixture
def previews(env):
    """``previews(n, offset)`` adds observations to the test's database and data home."""
    return add_previews


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors on a shared 2-core machine: more threads only contend."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
