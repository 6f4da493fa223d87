"""The synthetic archive: deterministic, every class present, MAST-like pixels, varied texts, importable."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from indexer.synth import CLASSES, COLLECTION, generate
from indexer.synth.generate import plan, proposal_fields
from paperclip.imaging import decode

IMPORT_FIELDS = {"image", "group", "text", "title", "category", "cycle", "obs_id", "instrument", "label"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """One image for each of 2 proposals per class: every class, cheap."""
    out = tmp_path_factory.mktemp("synth")
    return generate(out, proposals=2 * len(CLASSES), seed=3, images_per_proposal=(1, 2), workers=1)


def rows_of(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def test_generate_is_deterministic_by_seed(archive, tmp_path):
    again = generate(
        tmp_path / "again", proposals=2 * len(CLASSES), seed=3, images_per_proposal=(1, 2), workers=2
    )
    assert again.read_bytes() == archive.read_bytes()
    for row in rows_of(archive)[:6]:
        assert (again.parent / row["image"]).read_bytes() == (archive.parent / row["image"]).read_bytes()
    other = generate(tmp_path / "other", proposals=4, seed=4, images_per_proposal=(1, 1), workers=1)
    assert [r["text"] for r in rows_of(other)] != [r["text"] for r in rows_of(archive)[:4]]


def test_every_class_gets_proposals_and_rows_fit_the_import_format(archive):
    rows = rows_of(archive)
    by_label = Counter(r["label"] for r in {r["group"]: r for r in rows}.values())
    assert set(by_label) == {c.label for c in CLASSES} and len(CLASSES) >= 14
    assert set(by_label.values()) == {2}
    for r in rows:
        assert IMPORT_FIELDS <= set(r)
        assert (archive.parent / r["image"]).is_file()
    assert len({r["obs_id"] for r in rows}) == len(rows)
    assert (archive.parent / "contact_sheet.png").stat().st_size > 10_000


def test_images_look_like_previews(archive):
    """Greyscale 512 px, white padding around a dark detector footprint, with a visible source."""
    for r in rows_of(archive)[:: max(1, len(CLASSES) // 8)]:
        img = decode((archive.parent / r["image"]).read_bytes())
        assert img.size == (512, 512) and img.mode == "L"
        a = np.asarray(img)
        assert (a[:8, :8] > 240).all() and (a[-8:, -8:] > 240).all(), "corners are padding"
        white = (a > 250).mean()
        assert 0.2 < white < 0.85, f"{r['label']}: footprint covers an unlikely {1 - white:.0%}"
        inside = a[a < 250]
        assert np.median(inside) < 140, f"{r['label']}: sky should be dark"
        assert inside.max() - np.median(inside) > 60, f"{r['label']}: no source stands out"


def test_texts_vary_and_carry_acronyms_and_distractors():
    proposals = [proposal_fields(p, seed=0) for p in plan(64, seed=0)]
    texts = [p["text"] for p in proposals]
    assert len(set(texts)) == len(texts)
    words = [len(t.split()) for t in texts]
    assert 60 <= min(words) and max(words) <= 350
    assert sum(bool(re.search(r"\([A-Z][A-Za-z]*[A-Z]\)", t)) for t in texts) > len(texts) / 2, "acronyms"
    assert sum("MAST" in t or "orbits" in t or "ETC" in t or "JWST" in t for t in texts) > len(texts) / 2
    by_label: dict[str, set[str]] = {}
    for p in proposals:
        by_label.setdefault(p["label"], set()).add(p["text"].split(". ")[1])
    assert sum(len(s) > 1 for s in by_label.values()) >= len(by_label) // 2, "same class, different wording"
    assert len({p["category"] for p in proposals}) >= 6


def test_plan_deals_classes_evenly():
    counts = Counter(p.cls.label for p in plan(150, seed=1))
    assert max(counts.values()) - min(counts.values()) <= 1 and len(counts) == len(CLASSES)


def test_archive_goes_in_through_the_import(archive, env):
    from indexer.harvest.importer import import_manifest
    from paperclip.db import session_scope
    from paperclip.schema import Observation, Proposal

    summary = import_manifest(archive, collection=COLLECTION)
    rows = rows_of(archive)
    assert (summary.imported, summary.failed) == (len(rows), 0)
    with session_scope() as session:
        labels = Counter(
            session.scalars(select(Observation.label).where(Observation.collection == COLLECTION))
        )
        assert labels == Counter(r["label"] for r in rows)
        assert session.scalar(select(func.count()).select_from(Proposal)) == 2 * len(CLASSES)
    assert import_manifest(archive, collection=COLLECTION).skipped == len(rows)


def test_synth_cli(tmp_path):
    from paperclip_cli.main import app

    result = CliRunner().invoke(app, ["synth", str(tmp_path / "a"), "--proposals", "2", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "paperclip import" in result.output
    assert len(rows_of(tmp_path / "a" / "manifest.jsonl")) >= 10


def test_proposals_crowd_into_real_fields_and_follow_their_class_on_the_sky():
    """A cone on COSMOS or ``near=Orion Nebula`` finds several demo proposals; stars keep to the
    Galactic plane, planets to the ecliptic, galaxies away from the plane (checked by astropy)."""
    import astropy.units as u
    from astropy.coordinates import BarycentricMeanEcliptic, SkyCoord

    from indexer.synth.sky import FIELDS

    proposals = [proposal_fields(p, seed=0) for p in plan(320, seed=0)]
    sky = SkyCoord([p["ra"] for p in proposals] * u.deg, [p["dec"] for p in proposals] * u.deg)
    labels = np.array([p["label"] for p in proposals])

    def inside(name: str) -> np.ndarray:
        f = FIELDS[name]
        return sky.separation(SkyCoord(f.ra * u.deg, f.dec * u.deg)).deg <= f.radius * 1.01

    assert set(labels[inside("COSMOS")]) >= {"deep field", "interacting galaxies"}
    assert inside("Orion Nebula").sum() >= 3 and "protostellar jet" in labels[inside("Orion Nebula")]
    assert inside("Baade's Window").sum() >= 3
    planets = np.isin(labels, ["gas giant", "comet"])
    ecliptic_lat = sky[planets].transform_to(BarycentricMeanEcliptic()).lat.deg
    assert np.abs(ecliptic_lat).max() < 15
    galaxies = np.isin(labels, ["spiral galaxy", "elliptical galaxy", "deep field"])
    assert np.abs(sky[galaxies].galactic.b.deg).min() > 15
    stars = np.isin(labels, ["open cluster", "planetary nebula", "supernova remnant"])
    field_free = stars & ~inside("LMC") & ~inside("Orion Nebula")
    assert np.abs(sky[field_free].galactic.b.deg).max() < 12
    assert len({p["start"].year for p in proposals}) >= 10  # dates spread over the cycles
