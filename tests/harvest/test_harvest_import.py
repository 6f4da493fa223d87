"""``paperclip import``: real HST images through the shared processing, bad rows, reruns."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from indexer.harvest.importer import import_manifest
from paperclip.db import session_scope
from paperclip.schema import LedgerEntry, Observation, Proposal
from paperclip.storage import get_paths
from paperclip_cli.main import app


def _copy_images(hst_mini, folder, n):
    records = [json.loads(line) for line in (hst_mini / "manifest.jsonl").read_text().splitlines()][:n]
    (folder / "img").mkdir(parents=True)
    for r in records:
        shutil.copy(hst_mini / r["file"], folder / "img" / r["file"].split("/")[-1])
    return records


def _rows(records):
    return [
        {
            "image": "img/" + r["file"].split("/")[-1],
            "group": r["proposal_id"],
            "text": r.get("abstract") or f"Observations for proposal {r['proposal_id']}.",
            "cycle": r["cycle"],
            "label": "galaxy" if i % 2 else "nebula",
        }
        for i, r in enumerate(records)
    ]


def test_import_jsonl_with_bad_rows_then_resume(env, hst_mini, tmp_path):
    folder = tmp_path / "data"
    records = _copy_images(hst_mini, folder, 6)
    rows = _rows(records)
    rows[1]["obs_id"] = "my-obs-1"
    rows[2]["start_time"] = "2020-01-02T03:04:05"
    rows[3]["text"] += "\x00"  # a stray NUL, which Postgres would refuse
    (folder / "notes.txt").write_text("not an image")
    lines = [json.dumps(r) for r in rows]
    lines += [
        "{truncated json",
        json.dumps({"image": "img/missing.png", "group": "1", "text": "x"}),
        json.dumps({"image": "notes.txt", "group": "1", "text": "x"}),
        json.dumps({"image": "img/x.png", "group": "1", "text": "x", "ra": "north"}),
        json.dumps({"group": "1", "text": "no image"}),
        json.dumps({"image": "img/y.png", "group": "1", "text": "x", "obs_id": "o" * 200}),
        lines[0],  # listed twice
    ]
    manifest = folder / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")

    first = import_manifest(manifest, "MINI")
    assert (first.imported, first.failed, first.skipped) == (6, 6, 1)
    assert first.failures == {"bad_row": 4, "missing_file": 1, "unsupported_type": 1}

    with session_scope() as s:
        obs = s.scalars(select(Observation).order_by(Observation.id)).all()
        assert len(obs) == 6 and {o.collection for o in obs} == {"MINI"}
        assert {o.obs_id for o in obs if not o.obs_id.startswith("sha256:")} == {"my-obs-1"}
        assert sorted(o.label for o in obs) == sorted(r["label"] for r in rows)
        assert sum(o.start_time is not None for o in obs) == 1
        assert s.scalar(select(func.count()).select_from(Proposal)) == len({r["group"] for r in rows})
        store = get_paths().images
        for o in obs:
            preview = Image.open(store / o.local_path)
            assert preview.size == (512, 512)
            original = Image.open(store / o.original_path)
            assert original.size == (o.width, o.height)
            assert o.local_path.startswith("preview/") and o.original_path.startswith("original/")
        failed = s.scalars(select(LedgerEntry).where(LedgerEntry.status == "failed")).all()
        assert {e.reason for e in failed} == {"bad_row", "missing_file", "unsupported_type"}
        assert all(e.last_error and e.job == "import:MINI" for e in failed)
    files = sorted(p for p in get_paths().images.rglob("*") if p.is_file())
    assert len(files) == 12

    again = import_manifest(manifest, "MINI")
    assert (again.imported, again.failed, again.skipped) == (0, 0, 13)

    shutil.copy(folder / "img" / rows[0]["image"].split("/")[-1], folder / "img" / "missing.png")
    retried = import_manifest(manifest, "MINI", retry_failed=True)
    assert (retried.imported, retried.failed) == (1, 5)
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Observation)) == 6  # same bytes as row 0: same obs
        attempts = s.scalar(select(LedgerEntry.attempts).where(LedgerEntry.unit.endswith("notes.txt")))
        assert attempts == 2
    assert sorted(p for p in get_paths().images.rglob("*") if p.is_file()) == files


def test_import_cli_csv(env, hst_mini, tmp_path):
    folder = tmp_path / "csvdata"
    rows = _rows(_copy_images(hst_mini, folder, 3))
    with (folder / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["image", "group", "text", "cycle", "label", "instrument"])
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "instrument": "WFC3/UVIS"})
    cmd = [
        sys.executable,
        "-m",
        "paperclip_cli",
        "import",
        str(folder / "manifest.csv"),
        "--collection",
        "CSV",
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "imported 3, skipped 0, failed 0" in out.stdout
    with session_scope() as s:
        obs = s.scalars(select(Observation)).all()
        assert [o.instrument for o in obs] == ["WFC3/UVIS"] * 3
        texts = {p.proposal_id: p.abstract for p in s.scalars(select(Proposal))}
        assert texts == {str(r["group"]): r["text"] for r in rows}

    missing = CliRunner().invoke(app, ["import", str(folder / "nope.csv")])
    assert missing.exit_code != 0 and "manifest not found" in missing.output
