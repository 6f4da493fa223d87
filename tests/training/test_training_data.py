"""Split by proposal (no leakage, persisted, stable) and pairs from the captions table."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from paperclip.db import session_scope
from paperclip.schema import Caption, Split
from training.data import ensure_split, fit_caption, load_pairs, token_fits

from .conftest import populate


def _splits() -> dict[int, str]:
    with session_scope() as s:
        return dict(s.execute(select(Split.proposal_pk, Split.split)).tuples().all())


def test_split_has_no_leakage_and_is_persisted(archive):
    with session_scope() as s:
        ensure_split(s, seed=3, val_fraction=0.25)
    first = _splits()
    assert len(first) == 12 and sum(v == "val" for v in first.values()) == 3
    with session_scope() as s:
        train, val = load_pairs(s, "train", "summary"), load_pairs(s, "val", "summary")
    assert {p.proposal_pk for p in train}.isdisjoint({p.proposal_pk for p in val})
    assert len(train) + len(val) == 36
    assert all(p.image_path.is_absolute() and p.image_path.is_file() for p in train + val)

    populate(proposals=4, start=100)  # new data never moves an old proposal
    with session_scope() as s:
        ensure_split(s, seed=3, val_fraction=0.25)
    second = _splits()
    assert {k: second[k] for k in first} == first
    assert len(second) == 16 and sum(v == "val" for v in second.values()) == 4

    with session_scope() as s:  # another seed re-splits everything, deterministically
        ensure_split(s, seed=4, val_fraction=0.25)
    third = _splits()
    assert third != second and sum(v == "val" for v in third.values()) == 4


def test_pairs_prefer_llm_summaries_and_skip_failed(archive):
    with session_scope() as s:
        ensure_split(s, seed=0, val_fraction=0.25)
        pk = s.scalars(select(Split.proposal_pk).where(Split.split == "train")).first()
        s.add(Caption(proposal_pk=pk, kind="summary", generator="llm", status="ok", text="llm says; lensing"))
        s.add(
            Caption(
                proposal_pk=pk, kind="summary", generator="llm", model_name="x", status="failed", text="bad"
            )
        )
    with session_scope() as s:
        pairs = [p for p in load_pairs(s, "train", "summary") if p.proposal_pk == pk]
        both = [p for p in load_pairs(s, "train", "both") if p.proposal_pk == pk]
    assert {p.caption for p in pairs} == {"llm says; lensing"} and len(pairs) == 3
    assert sorted(p.kind for p in both) == ["raw"] * 3 + ["summary"] * 3
    assert all(p.label in {"red", "green", "blue", "yellow", "magenta", "cyan"} for p in pairs)


def test_raw_captions_are_windowed_to_fit(archive, tiny_model):
    fits = token_fits(tiny_model.tokenizer, 12)
    with session_scope() as s:
        ensure_split(s, seed=0, val_fraction=0.25)
        pairs = load_pairs(s, "val", "raw", fits)
        full = load_pairs(s, "val", "raw")
    assert pairs and all(fits(p.caption) for p in pairs)
    assert all(not fits(p.caption) for p in full)  # whole abstracts are longer than 12 tokens
    assert all(p.caption in f.caption for p, f in zip(pairs, full, strict=True))
    windows = {fit_caption(full[0].caption, fits, random.Random(seed)) for seed in range(20)}
    assert len(windows) > 1 and all(fits(w) for w in windows)


def test_varied_pairs_carry_alternatives_drawn_from_the_archives_own_text(archive, tiny_model):
    from training.captions.variation import ALTERNATIVES, rephrase

    fits = token_fits(tiny_model.tokenizer, 40)
    with session_scope() as s:
        ensure_split(s, seed=0, val_fraction=0.25)
        varied = load_pairs(s, "train", "varied", fits)
        summary = load_pairs(s, "train", "summary")
        raw = {p.proposal_pk: p.caption for p in load_pairs(s, "train", "raw")}
        with pytest.raises(ValueError, match="fits"):
            load_pairs(s, "train", "varied")
    assert [(p.observation_id, p.caption) for p in varied] == [(p.observation_id, p.caption) for p in summary]
    for p in varied:
        assert len(p.alternatives) == ALTERNATIVES and p.alternatives[0] == p.caption
        assert all(fits(t) for t in p.alternatives)
        windows = [t for t in p.alternatives if t in raw[p.proposal_pk]]
        assert windows, "raw abstract windows are among the alternatives"
    assert len({t for p in varied for t in p.alternatives}) > 2 * len({p.caption for p in varied})
    assert rephrase("spiral galaxies; star formation", random.Random(0)) != "" and rephrase(
        "no separator", random.Random(0)
    )
