"""Write a synthetic HST-like archive as an import manifest (JSONL) plus JPEG previews.

Deterministic by seed: proposal ``p`` draws its object from ``(seed, p)`` and image ``i``
of it from ``(seed, p, i)``, so any subset can be regenerated alone and a rerun rewrites
identical bytes. The class label goes in the manifest for evaluation only; nothing else
in the row or the text names it verbatim as a field.
"""

from __future__ import annotations

import io
import json
import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

from indexer.synth.render import INSTRUMENTS, Frame, render
from indexer.synth.scenes import CLASSES, SynthClass
from indexer.synth.shapes import field_galaxies, uniform_stars
from indexer.synth.sky import place
from indexer.synth.texts import proposal_text
from paperclip.storage import atomic_write

COLLECTION = "SYNTH"
FIRST_PROPOSAL_ID = 90001
MANIFEST = "manifest.jsonl"


@dataclass(frozen=True)
class Plan:
    """What proposal ``index`` is about and how many images it has."""

    index: int
    cls: SynthClass
    images: int


def plan(proposals: int, seed: int, images_per_proposal: tuple[int, int] = (5, 15)) -> list[Plan]:
    """Classes are dealt round-robin in a seeded order, so every class gets its share."""
    rng = np.random.default_rng([seed, 7919])
    order = rng.permutation(len(CLASSES))
    lo, hi = images_per_proposal
    return [
        Plan(
            p, CLASSES[order[p % len(CLASSES)]], int(np.random.default_rng([seed, p, 1]).integers(lo, hi + 1))
        )
        for p in range(proposals)
    ]


def main_instrument(cls: SynthClass, seed: int, proposal: int) -> str:
    """The camera a proposal asks for (its text names it; a quarter of its images use another)."""
    return cls.instruments[int(np.random.default_rng([seed, proposal, 4]).integers(len(cls.instruments)))]


def render_image(cls: SynthClass, seed: int, proposal: int, image: int) -> tuple[np.ndarray, dict]:
    """One observation of a proposal's object: pixels and the observation metadata."""
    img = np.random.default_rng([seed, proposal, image, 2])
    obj = np.random.default_rng([seed, proposal, 3])
    instrument = INSTRUMENTS[main_instrument(cls, seed, proposal)]
    if img.random() < 0.25:  # proposals sometimes use a second camera
        instrument = INSTRUMENTS[cls.instruments[int(img.integers(len(cls.instruments)))]]
    half = img.uniform(*instrument.half_size)
    frame = Frame(instrument, img.uniform(0, np.pi), half, tuple(img.uniform(-20, 20, 2)))
    c, s = np.cos(frame.angle), np.sin(frame.angle)
    du, dv = img.uniform(-0.2, 0.2, 2) * half
    if instrument.layout == "wfpc2":  # targets sit on one of the three wide-field chips
        du, dv = du - 0.45 * half, dv - 0.45 * half
    cx, cy = frame.centre[0] + c * du - s * dv, frame.centre[1] + s * du + c * dv
    cls.draw(frame, obj, img, cx, cy)
    depth = img.lognormal(0, 0.35)
    frame.points *= depth
    frame.diffuse *= depth
    uniform_stars(img, frame, int(img.integers(*cls.field_stars, endpoint=True)), 40)
    field_galaxies(img, frame, int(img.integers(*cls.field_galaxies, endpoint=True)), 2.5, 25)
    pixels = render(
        frame,
        img,
        noise=float(img.uniform(0.2, 0.8)),
        cosmic_rays=int(img.integers(*cls.cosmic_rays, endpoint=True)),
        stretch_a=float(img.uniform(*cls.stretch_a)),
    )
    meta = {
        "instrument": instrument.name,
        "filters": str(img.choice(instrument.filters)),
        "exposure_s": float(round(img.uniform(100, 2400), 1)),
    }
    return pixels, meta


def _observation(task: tuple[int, int, int, int]) -> tuple[bytes, dict]:
    """Worker: one JPEG preview and its metadata (top level so a process pool can call it)."""
    class_index, seed, proposal, image = task
    pixels, meta = render_image(CLASSES[class_index], seed, proposal, image)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
    return buf.getvalue(), meta


def generate(
    out_dir: Path,
    proposals: int = 150,
    seed: int = 0,
    images_per_proposal: tuple[int, int] = (5, 15),
    workers: int | None = None,
) -> Path:
    """Write ``images/*.jpg``, ``manifest.jsonl`` (import format, with ``label``) and a contact sheet.

    The manifest is written last and atomically, so its presence means the archive is complete.
    """
    from tqdm import tqdm

    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    plans = plan(proposals, seed, images_per_proposal)
    index_of = {c.label: i for i, c in enumerate(CLASSES)}
    tasks = [(index_of[p.cls.label], seed, p.index, i) for p in plans for i in range(p.images)]
    workers = workers or min(2, os.cpu_count() or 1)
    rows: list[dict] = []
    with ProcessPoolExecutor(workers) if workers > 1 and len(tasks) > 40 else _Serial() as pool:
        results = pool.map(_observation, tasks, chunksize=8)
        bar = tqdm(zip(tasks, results, strict=True), total=len(tasks), desc="synth", unit="img")
        texts = {p.index: proposal_fields(p, seed) for p in plans}
        for (_, _, p, i), (jpeg, meta) in bar:
            fields = texts[p]
            name = f"images/{fields['group']}_{i:02d}.jpg"
            (out_dir / name).write_bytes(jpeg)  # a rerun rewrites every image; the manifest comes last
            rows.append(_row(fields, meta, name, seed, p, i))
    atomic_write(out_dir / MANIFEST, "".join(json.dumps(r) + "\n" for r in rows).encode())
    contact_sheet(out_dir / MANIFEST, out_dir / "contact_sheet.png")
    return out_dir / MANIFEST


class _Serial:
    """The process pool's interface, in-process (small archives are not worth the start-up)."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn, items, chunksize: int = 1):
        return map(fn, items)


def proposal_fields(p: Plan, seed: int) -> dict:
    rng = random.Random(seed * 1_000_003 + p.index)
    instrument = main_instrument(p.cls, seed, p.index)
    filters = rng.sample(list(INSTRUMENTS[instrument].filters), 2)
    fields = proposal_text(p.cls.label, rng, instrument, filters)
    fields["group"] = str(FIRST_PROPOSAL_ID + p.index)
    fields["label"] = p.cls.label
    fields["ra"], fields["dec"] = place(p.cls.label, rng)
    fields["start"] = datetime(1994 + int(fields["cycle"]), 1, 1, tzinfo=UTC) + timedelta(
        days=rng.uniform(0, 360)
    )
    return fields


def _row(fields: dict, meta: dict, image: str, seed: int, proposal: int, index: int) -> dict:
    jitter = np.random.default_rng([seed, proposal, index, 5]).normal(0, 0.01, 2)
    return {
        "image": image,
        "group": fields["group"],
        "text": fields["text"],
        "title": fields["title"],
        "category": fields["category"],
        "cycle": int(fields["cycle"]),
        "pi": fields["pi"],
        "instrument": meta["instrument"],
        "filters": meta["filters"],
        "target": fields["target"],
        "ra": round(float((fields["ra"] + jitter[0]) % 360), 6),
        "dec": round(float(np.clip(fields["dec"] + jitter[1], -90, 90)), 6),
        "obs_id": f"syn{fields['group']}{index:03d}",
        "start_time": (fields["start"] + timedelta(hours=3 * index)).isoformat(),
        "exposure_s": meta["exposure_s"],
        "label": fields["label"],
    }


def contact_sheet(manifest: Path, out: Path, per_class: int = 6, thumb: int = 128) -> Path:
    """One row of thumbnails per class, for looking at what was generated."""
    from PIL import ImageDraw

    rows: dict[str, list[str]] = {}
    for line in manifest.read_text().splitlines():
        r = json.loads(line)
        if len(rows.setdefault(r["label"], [])) < per_class:
            rows[r["label"]].append(r["image"])
    label_w = 170
    sheet = Image.new("L", (label_w + per_class * thumb, len(rows) * thumb), 200)
    draw = ImageDraw.Draw(sheet)
    for y, (label, images) in enumerate(sorted(rows.items())):
        draw.text((6, y * thumb + thumb // 2 - 6), label, fill=0)
        for x, rel in enumerate(images):
            with Image.open(manifest.parent / rel) as im:
                sheet.paste(
                    im.resize((thumb, thumb), Image.Resampling.BILINEAR), (label_w + x * thumb, y * thumb)
                )
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
