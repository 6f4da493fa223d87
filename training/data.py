"""Training pairs from the database and the image store, split by proposal.

The split is persisted in the ``splits`` table so every run, and the evaluation, see the same
held-out proposals; a proposal's images never straddle train and validation.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from paperclip.schema import Caption, Observation, Proposal, Split
from paperclip.storage import ImageStore, get_paths

log = logging.getLogger(__name__)

VARIANTS = ("summary", "raw", "both", "varied")
SUMMARY_PREFERENCE = {"llm": 0, "extract": 1}  # lower wins


@dataclass(frozen=True)
class Pair:
    observation_id: int
    proposal_pk: int
    image_path: Path  # absolute path of the 512 px preview
    caption: str  # raw captions are whole abstracts: window them with ``fit_caption``
    label: str | None
    kind: str = "summary"  # summary | raw
    alternatives: tuple[str, ...] = ()  # variant varied: the texts a training step draws from


def ensure_split(session: Session, seed: int, val_fraction: float) -> None:
    """Assign every proposal that has images to train or val, keeping earlier assignments.

    Rows written under another seed are redone. New proposals are shuffled with the seed and
    as many go to val as keep the val share nearest ``val_fraction`` (at least one when there
    are two or more proposals), so adding data never moves a proposal across the split.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    stale = session.scalars(select(Split.proposal_pk).where(Split.seed != seed)).all()
    if stale:
        log.warning("re-splitting %d proposals assigned under another seed", len(stale))
        session.execute(delete(Split).where(Split.seed != seed))
    with_images = (
        select(Proposal.id, Proposal.collection, Proposal.proposal_id)
        .where(Proposal.id.in_(select(Observation.proposal_pk).where(Observation.local_path.is_not(None))))
        .order_by(Proposal.collection, Proposal.proposal_id)
    )
    proposals = session.execute(with_images).all()
    assigned = dict(session.execute(select(Split.proposal_pk, Split.split)).tuples().all())
    new = [p for p in proposals if p.id not in assigned]
    if not new:
        return
    total = len(assigned) + len(new)
    want_val = round(total * val_fraction)
    if val_fraction > 0 and total >= 2:
        want_val = max(want_val, 1)
    n_val = min(max(want_val - sum(s == "val" for s in assigned.values()), 0), len(new))
    rng = random.Random(f"paperclip-split:{seed}:" + ",".join(f"{p.collection}/{p.proposal_id}" for p in new))
    order = list(new)
    rng.shuffle(order)
    session.add_all(
        Split(proposal_pk=p.id, split="val" if i < n_val else "train", seed=seed) for i, p in enumerate(order)
    )
    session.flush()


def _captions(session: Session, kind: str, proposal_pks: set[int]) -> dict[int, str]:
    """The best ok caption of one kind per proposal: llm over extract for summaries, newest first."""
    rows = session.execute(
        select(Caption.proposal_pk, Caption.generator, Caption.id, Caption.text).where(
            Caption.kind == kind, Caption.status == "ok", Caption.text.is_not(None)
        )
    ).all()
    best: dict[int, tuple[tuple[int, int], str]] = {}
    for pk, generator, cid, text in rows:
        if pk not in proposal_pks or not text.strip():
            continue
        rank = (SUMMARY_PREFERENCE.get(generator, 2) if kind == "summary" else 0, -cid)
        if pk not in best or rank < best[pk][0]:
            best[pk] = (rank, text)
    return {pk: text for pk, (_, text) in best.items()}


def load_pairs(
    session: Session, split: str, variant: str, fits: Callable[[str], bool] | None = None
) -> list[Pair]:
    """Image-caption pairs of one split, ordered by observation id.

    ``variant`` is summary, raw, both (one pair per caption kind) or varied (the summary pair,
    carrying ``caption_alternatives``: rephrasings, synonyms and raw windows, one drawn per
    training step; needs ``fits``). Raw captions are whole abstracts; with ``fits`` (see
    ``token_fits``) each is cut to its deterministic first window of sentences, otherwise the
    training dataset draws a random window per step.
    Observations whose proposal lacks the caption, or whose preview file is gone, are
    skipped and counted in the log.
    """
    if variant not in VARIANTS:
        raise ValueError(f"caption variant must be one of {VARIANTS}, got {variant!r}")
    if variant == "varied" and fits is None:
        raise ValueError("the varied variant windows raw abstracts: pass fits")
    kinds = ["summary", "raw"] if variant in ("both", "varied") else [variant]
    rows = session.execute(
        select(Observation.id, Observation.proposal_pk, Observation.local_path, Observation.label)
        .join(Split, Split.proposal_pk == Observation.proposal_pk)
        .where(Split.split == split, Observation.local_path.is_not(None))
        .order_by(Observation.id)
    ).all()
    pks = {r.proposal_pk for r in rows}
    captions = {kind: _captions(session, kind, pks) for kind in kinds}
    alternatives: dict[int, tuple[str, ...]] = {}
    if variant == "varied":
        from training.captions.variation import caption_alternatives

        alternatives = {
            pk: caption_alternatives(text, captions["raw"].get(pk), fits, pk)
            for pk, text in captions["summary"].items()
        }
        kinds = ["summary"]
    store = ImageStore(get_paths().images)
    pairs: list[Pair] = []
    missing_file = 0
    missing_caption = {kind: 0 for kind in kinds}
    for r in rows:
        try:
            path = store.resolve(r.local_path)
        except FileNotFoundError:
            missing_file += 1
            continue
        for kind in kinds:
            text = captions[kind].get(r.proposal_pk)
            if text is None:
                missing_caption[kind] += 1
                continue
            if kind == "raw" and fits is not None:
                text = fit_caption(text, fits)
            pairs.append(
                Pair(r.id, r.proposal_pk, path, text, r.label, kind, alternatives.get(r.proposal_pk, ()))
            )
    if missing_file or any(missing_caption.values()):
        log.warning(
            "%s split: skipped %d observations with no preview file and %s without captions",
            split,
            missing_file,
            missing_caption,
        )
    return pairs


def token_fits(tokenizer, context_length: int) -> Callable[[str], bool]:
    """Whether a text fits the text tower's context without truncation (open_clip or HF tokenizer)."""
    hf = getattr(tokenizer, "tokenizer", None)
    if hf is not None:  # open_clip.HFTokenizer: special tokens included
        return lambda text: len(hf(text)["input_ids"]) <= context_length
    return lambda text: len(tokenizer.encode(text)) + 2 <= context_length  # SimpleTokenizer: + sot, eot


def fit_caption(text: str, fits: Callable[[str], bool], rng: random.Random | None = None) -> str:
    """A window of whole sentences that fits (random with ``rng``, else from the start)."""
    from training.captions.raw import sentence_window

    return text if fits(text) else sentence_window(text, fits, rng)
