"""The extractor's figures on real abstracts: coverage on the 112, precision on the hand-labelled
subset (``tests/data/captions/labelled.jsonl``), coverage on the held-out programme-style sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperclip.vocabulary import load_vocabulary
from training.captions.quality import coverage, heldout_abstracts, load_labels, precision, real_abstracts

DATA = Path(__file__).resolve().parents[1] / "data" / "captions"


def test_labels_are_well_formed(hst_mini):
    labels = load_labels(DATA / "labelled.jsonl", hst_mini)  # raises if a labelled abstract changed
    assert len(labels) >= 40 and len({label.where for label in labels}) == len(labels)
    known = {(t.text, t.kind) for t in load_vocabulary()}
    for label in labels:
        accepted = {t for terms in label.accept.values() for t in terms}
        assert label.about and accepted and not accepted & set(label.wrong), label.where
        for kind, terms in label.accept.items():
            assert all((t, kind) in known for t in terms), (label.where, terms)
        assert all(reason.strip() for reason in label.wrong.values())
        assert all(any(t == term for t, _ in known) for term in label.wrong), label.where


def test_coverage_and_precision_on_real_abstracts(hst_mini):
    covered = coverage([abstract for _, abstract in real_abstracts(hst_mini)])
    assert covered.total == 112 and covered.skipped == 0
    assert covered.share >= 0.98, covered.missed
    result = precision(load_labels(DATA / "labelled.jsonl", hst_mini))
    print(
        f"\ncoverage {covered.covered}/{covered.total} ({covered.share:.1%}); labelled subset: {result.terms} terms,"
        f" {len(result.wrong)} wrong, {len(result.unlabelled)} unlabelled ({result.share_wrong:.1%})"
    )
    assert result.share_wrong <= 0.05, result.wrong + result.unlabelled
    assert not result.unlabelled, "label these terms: " + "; ".join(result.unlabelled)


@pytest.mark.parametrize("name", ["heldout_abstracts.jsonl", "heldout2_abstracts.jsonl"])
def test_coverage_on_heldout_programme_style_abstracts(name):
    rows = heldout_abstracts(DATA / name)
    covered = coverage([r["abstract"] for r in rows])
    assert covered.skipped == sum(r["domain"] == "placeholder" for r in rows) == 2
    assert covered.share >= 0.95, covered.missed
