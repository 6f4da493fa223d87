"""Observations with real preview files in the store and rows in the database."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paperclip.db import session_scope
from paperclip.imaging import encode_jpeg, to_preview
from paperclip.schema import Observation, Proposal
from paperclip.storage import ImageStore, get_paths

AddObservations = Callable[..., list[int]]


def synthetic_image(seed: int) -> Image.Image:
    """A distinct 512 px picture per seed: a few Gaussian blobs on noise, like a sparse field."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:128, 0:128].astype(np.float32)
    img = rng.normal(20, 8, size=(128, 128, 3))
    for _ in range(6):
        cy, cx, r = rng.uniform(0, 128), rng.uniform(0, 128), rng.uniform(3, 20)
        img += (
            rng.uniform(60, 200, size=3) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
        )
    small = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    return small.resize((512, 512), Image.BILINEAR)


def add_observations(images: list[Image.Image], group: str = "P1") -> list[int]:
    """Store each image as a 512 px JPEG preview and insert its observation row; returns the ids."""
    store = ImageStore(get_paths().ensure().images)
    with session_scope() as s:
        proposal = s.query(Proposal).filter_by(collection="TEST", proposal_id=group).one_or_none()
        if proposal is None:
            proposal = Proposal(collection="TEST", proposal_id=group, abstract="test")
            s.add(proposal)
            s.flush()
        rows = []
        for img in images:
            rel, digest = store.put(encode_jpeg(to_preview(img)), "preview", "jpg")
            rows.append(
                Observation(
                    proposal_pk=proposal.id,
                    collection="TEST",
                    obs_id=uuid.uuid4().hex,
                    local_path=rel,
                    sha256=digest,
                )
            )
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


@pytest.fixture
def observations(env) -> AddObservations:
    """``observations(n, offset)``: n synthetic previews as observation rows in the test DB."""

    def make(n: int, offset: int = 0, group: str = "P1") -> list[int]:
        return add_observations([synthetic_image(offset + i) for i in range(n)], group)

    return make


@pytest.fixture
def hst_observations(env, hst_mini: Path) -> list[int]:
    """The real HST previews as observations."""
    images = [Image.open(p) for p in sorted((hst_mini / "images").glob("*.png"))]
    return add_observations(images, "HST")


@pytest.fixture(autouse=True)
def _small_embedding(monkeypatch):
    """A two-core embedded Ray cluster and small batches keep tests light on shared CPUs."""
    monkeypatch.setenv("PAPERCLIP_RAY_NUM_CPUS", "2")
    monkeypatch.setenv("PAPERCLIP_EMBED_BATCH_SIZE", "32")
