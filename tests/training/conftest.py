"""A small learnable archive in a real database and image store: the caption names the colour."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paperclip.db import session_scope
from paperclip.schema import Caption, Observation, Proposal
from paperclip.storage import ImageStore, get_paths

COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 200, 60),
    "blue": (40, 60, 220),
    "yellow": (230, 220, 40),
    "magenta": (210, 40, 210),
    "cyan": (40, 210, 210),
}


def preview(colour: tuple[int, int, int], seed: int) -> bytes:
    """A 512 px preview: the class colour everywhere (so every crop shows it) with a random blob."""
    rng = np.random.default_rng(seed)
    img = np.empty((512, 512, 3), np.float32)
    img[:] = colour
    yy, xx = np.mgrid[:512, :512]
    cy, cx, r = rng.integers(100, 412, 2).tolist() + [int(rng.integers(30, 120))]
    img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] *= 0.5
    img += rng.normal(0, 8, (64, 64, 3)).repeat(8, 0).repeat(8, 1)
    buf = io.BytesIO()
    Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def populate(proposals: int = 12, images: int = 3, start: int = 0) -> list[int]:
    """Proposals ``start..start+proposals`` with previews in the store and ok captions; returns their pks."""
    store = ImageStore(get_paths().ensure().images)
    names = list(COLOURS)
    pks = []
    with session_scope() as session:
        for i in range(start, start + proposals):
            colour = names[i % len(names)]
            abstract = f"We image a {colour} field. The field is uniformly {colour}. It has one dark blob."
            prop = Proposal(collection="TEST", proposal_id=f"P{i:03d}", category="Test", abstract=abstract)
            session.add(prop)
            session.flush()
            pks.append(prop.id)
            for j in range(images):
                rel, sha = store.put(preview(COLOURS[colour], seed=i * 100 + j), "preview", "jpg")
                session.add(
                    Observation(
                        proposal_pk=prop.id,
                        collection="TEST",
                        obs_id=f"P{i:03d}-{j}",
                        local_path=rel,
                        sha256=sha,
                        label=colour,
                    )
                )
            session.add(
                Caption(
                    proposal_pk=prop.id,
                    kind="summary",
                    generator="extract",
                    status="ok",
                    text=f"{colour} field; colour survey",
                )
            )
            session.add(
                Caption(
                    proposal_pk=prop.id,
                    kind="raw",
                    generator="raw",
                    status="ok",
                    text=f"Category: Test. {abstract}",
                )
            )
    return pks


@pytest.fixture
def archive(env) -> Path:
    """The learnable archive in the test's database (both dialects) and data home."""
    populate()
    return get_paths().home


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models on a shared 2-core machine: more threads only contend (10x slower steps)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
