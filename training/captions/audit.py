"""What the captions say and why: ``paperclip caption --explain PROPOSAL`` and ``--compare``.

``explain`` prints a proposal's captions with the reason for any that is missing, and for the
offline extractor's summary the words of the abstract behind each term (as stored; computed
afresh, and said so, where no summary of the current abstract is stored). ``compare`` puts the
extractor's terms beside the LLM's for every proposal that has both, with how many of each
side's terms the other side shares (a loose, word-level match).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperclip.schema import Caption, Proposal
from training.captions.extract import NothingFound, Unsummarisable, explain
from training.captions.run import text_sha256

CONTEXT = 40  # characters shown on each side of an evidence span
_STOP = {"of", "the", "and", "in", "to", "a", "an", "for", "from", "with", "on", "by", "their", "its", "s"}


class ProposalNotFound(LookupError):
    pass


def _proposal(session: Session, proposal_id: str, collection: str | None) -> Proposal:
    query = select(Proposal).where(Proposal.proposal_id == proposal_id)
    if collection:
        query = query.where(Proposal.collection == collection)
    found = session.scalars(query).all()
    if not found:
        raise ProposalNotFound(f"no proposal {proposal_id!r}" + (f" in {collection}" if collection else ""))
    if len(found) > 1:
        names = ", ".join(p.collection for p in found)
        raise ProposalNotFound(
            f"proposal {proposal_id!r} is in several collections ({names}): give --collection"
        )
    return found[0]


def _snippet(text: str, start: int, end: int) -> str:
    left = max(0, start - CONTEXT)
    right = min(len(text), end + CONTEXT)
    body = " ".join(f"{text[left:start]}«{text[start:end]}»{text[end:right]}".split())
    return ("..." if left else "") + body + ("..." if right < len(text) else "")


def evidence_lines(evidence: Iterable[dict], abstract: str, title: str | None) -> list[str]:
    """One line per mention, grouped under its term, objects first."""
    by_term: dict[tuple[str, str], list[dict]] = {}
    for e in evidence:
        by_term.setdefault((e["kind"], e["term"]), []).append(e)
    lines = []
    for kind, heading in (("object", "objects and phenomena"), ("use_case", "science use cases")):
        lines.append(f"  {heading}:")
        for (k, term), items in by_term.items():
            if k != kind:
                continue
            lines.append(f"    {term}")
            for e in items:
                if e["start"] is None:
                    lines.append(f"      {e['rule']} ({e['field']}: {e['text']!r})")
                    continue
                source = title if e["field"] == "title" else abstract
                lines.append(
                    f"      {e['field']} {_snippet(source or '', e['start'], e['end'])}  ({e['rule']})"
                )
    return lines


def explain_lines(session: Session, proposal_id: str, collection: str | None = None) -> list[str]:
    p = _proposal(session, proposal_id, collection)
    abstract = p.abstract or ""
    current = text_sha256(abstract)
    lines = [f"{p.collection} {p.proposal_id}: {p.title or '(no title)'}"]
    rows = session.scalars(
        select(Caption)
        .where(Caption.proposal_pk == p.id, Caption.abstract_sha256 == current)
        .order_by(Caption.kind, Caption.generator, Caption.created_at)
    ).all()
    for c in rows:
        what = (c.text or "") if c.status == "ok" else f"{c.status}: {c.reason} ({c.error})"
        what = what if len(what) <= 160 else what[:157] + "..."
        lines.append(f"  {c.kind}/{c.generator} {c.model_name} {c.prompt_version}: {what}")
    stored = next((c for c in rows if c.generator == "extract" and c.status == "ok" and c.evidence), None)
    if stored is not None:
        lines.append("extractor evidence (as stored):")
        return lines + evidence_lines(stored.evidence, abstract, p.title)
    if not abstract.strip():
        return [*lines, "no abstract"]
    try:
        found = explain(abstract, p.title, p.category)
    except (NothingFound, Unsummarisable) as err:
        return [*lines, f"extractor: {err}"]
    lines.append(f"extractor evidence (computed now, not stored): {found.summary.text}")
    return lines + evidence_lines(found.as_json(), abstract, p.title)


def _stems(term: str) -> set[str]:
    words = [w for w in re.findall(r"[a-z]+", term.lower()) if w not in _STOP and len(w) > 2]
    return {w[:-1] if w.endswith("s") and not w.endswith("ss") else w for w in words}


def _shared(terms: list[str], other: list[str]) -> list[str]:
    """The terms that share a content word with any of ``other``."""
    pool = set().union(*map(_stems, other)) if other else set()
    return [t for t in terms if _stems(t) & pool]


def compare_lines(session: Session, limit: int | None = None) -> list[str]:
    """Extractor terms beside LLM terms, for proposals with an ok summary of each (current abstract)."""
    rows = session.execute(
        select(Proposal, Caption)
        .join(Caption)
        .where(Caption.kind == "summary", Caption.status == "ok", Caption.generator.in_(("extract", "llm")))
        .order_by(Proposal.id, Caption.created_at, Caption.id)
    ).all()
    pairs: dict[int, dict] = {}
    for p, c in rows:
        if c.abstract_sha256 == text_sha256(p.abstract or "") and c.structured:
            pairs.setdefault(p.id, {"proposal": p})[c.generator] = c.structured
    both = [v for v in pairs.values() if "extract" in v and "llm" in v][:limit]
    lines = []
    ours_shared = ours_total = theirs_shared = theirs_total = 0
    for v in both:
        p, ours, theirs = v["proposal"], v["extract"], v["llm"]
        lines.append(f"{p.collection} {p.proposal_id}: {p.title or '(no title)'}")
        for key, label in (("objects_and_phenomena", "objects"), ("science_use_cases", "use cases")):
            lines.append(f"  {label:9} extractor: {', '.join(ours[key])}")
            lines.append(f"  {'':9} llm:       {', '.join(theirs[key])}")
        our_terms = ours["objects_and_phenomena"] + ours["science_use_cases"]
        their_terms = theirs["objects_and_phenomena"] + theirs["science_use_cases"]
        a, b = _shared(our_terms, their_terms), _shared(their_terms, our_terms)
        lines.append(f"  shared: extractor {len(a)}/{len(our_terms)}, llm {len(b)}/{len(their_terms)}")
        ours_shared, ours_total = ours_shared + len(a), ours_total + len(our_terms)
        theirs_shared, theirs_total = theirs_shared + len(b), theirs_total + len(their_terms)
    if not both:
        return ["no proposal has both an extractor and an LLM summary of its current abstract"]
    lines.append(
        f"{len(both)} proposals with both: {ours_shared}/{ours_total} extractor terms"
        f" ({ours_shared / ours_total:.0%}) and {theirs_shared}/{theirs_total} LLM terms"
        f" ({theirs_shared / theirs_total:.0%}) share a word with the other side"
    )
    return lines
