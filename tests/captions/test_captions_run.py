"""``run_captions`` with the offline extractor, and the ``paperclip caption`` command, on both databases."""

from __future__ import annotations

import re
import subprocess
import sys

from sqlalchemy import func, select, update

from paperclip.db import session_scope
from paperclip.schema import Caption, Proposal
from training.captions.run import run_captions
from training.captions.schema import ProposalSummary


def _add_proposals(db_url, hst_mini, n: int = 10) -> None:
    lines = (hst_mini / "abstracts_noid.txt").read_text().splitlines()[:n]
    with session_scope(db_url) as s:
        for i, line in enumerate(lines):
            category, abstract = re.match(r"Category: (.*?)\.\s+(.*)", line).groups()
            s.add(Proposal(collection="T", proposal_id=f"p{i}", category=category or None, abstract=abstract))
        s.add(Proposal(collection="T", proposal_id="empty", abstract=None))
        s.add(Proposal(collection="T", proposal_id="vague", abstract="We request orbits for this program."))


def _count(db_url, **where) -> int:
    with session_scope(db_url) as s:
        return s.scalar(select(func.count()).select_from(Caption).filter_by(**where))


def test_extract_run_is_idempotent_and_follows_edits(env, db_url, hst_mini):
    _add_proposals(db_url, hst_mini)
    first = run_captions(progress=False)
    assert (first.proposals, first.no_abstract, first.raw) == (11, 1, 11)
    assert (first.generated, first.failed, first.cached) == (10, 1, 0)
    assert first.errors == {"no object from the vocabulary found in the abstract": 1}
    assert first.model_name.startswith("vocabulary-")
    with session_scope(db_url) as s:
        summaries = s.scalars(select(Caption).where(Caption.kind == "summary", Caption.status == "ok")).all()
        for c in summaries:
            assert ProposalSummary.model_validate(c.structured).text == c.text
            assert c.generator == "extract" and len(c.abstract_sha256) == 64
        raw = s.execute(
            select(Proposal.category, Caption.text).join(Caption).where(Caption.kind == "raw")
        ).all()
        for category, text in raw:
            assert text.startswith(f"Category: {category}. ") if category else not text.startswith("Category")
        failed = s.scalars(select(Caption).where(Caption.status == "failed")).one()
        assert failed.text is None and "no object" in failed.error

    again = run_captions(progress=False)
    assert (again.generated, again.cached, again.failed) == (0, 10, 1)
    assert _count(db_url) == 22  # 11 raw + 11 summaries, nothing duplicated

    with session_scope(db_url) as s:
        s.execute(
            update(Proposal)
            .where(Proposal.proposal_id.in_(["p0", "vague"]))
            .values(
                abstract="Deep images of planetary nebulae and their central white dwarfs to study stellar evolution."
            )
        )
    edited = run_captions(progress=False)
    assert (edited.generated, edited.cached, edited.failed) == (2, 9, 0)
    assert _count(db_url, kind="summary") == 13  # the old captions stay, under their old abstract hash
    with session_scope(db_url) as s:
        newest = s.scalars(
            select(Caption.text).where(Caption.kind == "summary").order_by(Caption.id.desc())
        ).first()
    assert newest.startswith("planetary nebulae, white dwarfs;")

    kept = run_captions(retry_failed=False, limit=3, progress=False)
    assert kept.proposals == 3 and kept.generated == 0


def test_caption_command(env, db_url, hst_mini):
    _add_proposals(db_url, hst_mini, n=3)
    cmd = [sys.executable, "-m", "paperclip_cli", "caption"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "coverage 3/4 (75.0%)" in out.stdout and "failed x1: no object" in out.stdout
    assert _count(db_url, kind="raw") == 4
    out = subprocess.run([*cmd, "--generator", "llm"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "PAPERCLIP_LLM_BASE_URL" in out.stderr
