"""``paperclip evaluate`` end to end on both databases: split, pairs, checkpoint rows, outputs."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from paperclip.config import get_settings
from paperclip.db import session_scope
from paperclip.schema import Caption, Checkpoint, Observation, Proposal, Split
from paperclip.storage import ImageStore, get_paths
from paperclip_cli.main import app


def populate(db_url: str, records, checkpoint) -> None:
    store = ImageStore(get_paths().ensure().images)
    with session_scope(db_url) as s:
        pks: dict[int, int] = {}
        for r in records:
            if r.proposal not in pks:
                p = Proposal(collection="TEST", proposal_id=str(r.proposal), abstract=r.abstract)
                s.add(p)
                s.flush()
                pks[r.proposal] = p.id
                s.add(Caption(proposal_pk=p.id, kind="summary", generator="extract", text=r.caption))
        for i, r in enumerate(records):
            rel, digest = store.put(r.image.read_bytes(), "preview", "png")
            s.add(
                Observation(
                    proposal_pk=pks[r.proposal], collection="TEST", obs_id=f"o{i}", local_path=rel,
                    sha256=digest, label=r.label,
                )
            )  # fmt: skip
        s.add(
            Checkpoint(
                name="tiny-tuned", path=str(checkpoint), base_model="tiny", metrics={"train_loss": 1.5}
            )
        )


def test_cli_compares_base_and_checkpoint(env, db_url, mini_records, tuned_checkpoint, tmp_path, monkeypatch):
    populate(db_url, mini_records, tuned_checkpoint)
    out = tmp_path / "report"
    for key in [k for k in os.environ if k.startswith("PAPERCLIP_LLM_")]:
        monkeypatch.delenv(key)
    get_settings.cache_clear()
    # the real command in-process (a subprocess would spend most of its time importing torch)
    result = CliRunner().invoke(
        app, ["evaluate", "--checkpoints", "tiny-tuned", "--out", str(out), "--eval-augment", "2"]
    )
    assert result.exit_code == 0, result.output[-2000:]
    assert f"report: {out / 'report.html'}" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    # the small validation set is flagged, and every printed figure carries its interval
    assert "warning: validation holds" in result.output and "fewer than 200" in result.output
    lo, hi = metrics["models"]["tiny-tuned"]["ci95"]["image_to_text.auc"]
    assert (
        f"AUC {metrics['models']['tiny-tuned']['image_to_text']['auc']:.3f} [{lo:.3f}, {hi:.3f}]"
        in result.output
    )
    assert "augmented (2 draws)" in result.output and metrics["protocol"]["eval_augment"] == 2
    assert list(metrics["models"]) == ["base", "tiny-tuned"]  # base added, from the row's base_model
    assert metrics["models"]["base"]["spec"] == "tiny"
    assert metrics["models"]["base"]["judge"] is None
    with session_scope(db_url) as s:
        val = s.scalars(select(Split.proposal_pk).where(Split.split == "val")).all()
        n_val_obs = s.scalar(
            select(func.count()).select_from(Observation).where(Observation.proposal_pk.in_(val))
        )
        row = s.scalar(select(Checkpoint).where(Checkpoint.name == "tiny-tuned"))
        assert row.metrics["train_loss"] == 1.5  # training's metrics kept
        stored = row.metrics["evaluation"]["summary"]
    assert len(val) >= 2 and metrics["n_pairs"] == n_val_obs
    assert metrics["n_proposals"] == len(val)
    assert stored["image_to_text"] == metrics["models"]["tiny-tuned"]["image_to_text"]
    assert stored["n_pairs"] == metrics["n_pairs"]
    html = (out / "report.html").read_text()
    assert all(f'href="{p.name}"' in html for p in out.glob("*.png"))


def test_unknown_model_names_fail_before_any_work(env, db_url, mini_records, tuned_checkpoint, tmp_path):
    from training.evaluate import evaluate

    populate(db_url, mini_records[:6], tuned_checkpoint)
    with pytest.raises(ValueError, match="neither 'base', a checkpoint name"):
        evaluate(["base", "no-such-checkpoint"], tmp_path / "out")
    result = CliRunner().invoke(
        app, ["evaluate", "-c", "base,no-such-checkpoint", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and "neither 'base'" in result.output
    assert not (tmp_path / "out").exists()
