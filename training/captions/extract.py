"""The offline extractor: the vocabulary terms an abstract mentions, ranked by salience, with evidence.

Deterministic and network-free, so captions exist without an LLM. ``paperclip.mentions`` reads
the terms (sense before match, longest phrase first, defined acronyms, designations); here a
term's salience sums its mentions, weighted up in the title, early in the abstract (where
proposals say what they study) and for specific multi-word terms; each list keeps its five
most salient terms, less any that a single passing mention puts far below the list's best.
When an abstract names objects but no use case (or the reverse), the proposal's category (a
calibration programme) or a term's ``implies`` (a dark frame is taken for dark-current
calibration) fills the gap, marked as such in the evidence. Placeholders ("TBD", "ABSTRACT section not present") and near-empty abstracts are
refused with a reason instead of being summarised.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from paperclip.mentions import Mention, find_mentions
from paperclip.vocabulary import OTHER_KIND, Term, load_vocabulary
from training.captions.schema import ProposalSummary

MAX_ITEMS = 5
TITLE_WEIGHT = 2.0
EARLY_WEIGHT = 1.5  # mentions in the first quarter of the abstract
SPECIFICITY = 0.3  # extra weight per word beyond the first
MIN_SHARE = 0.35  # a term scoring below this share of its list's best is a passing mention
QUOTED_WEIGHT = 0.5  # a use case followed by a value ("stellar mass <10^8 Msun") describes the target
MIN_WORDS = 5  # fewer words than this is a near-empty abstract
KINDS = ("object", "use_case")

# Categories that say what a programme is for when its abstract does not (HST "CAL/ACS", JWST "CAL").
CATEGORY_TERMS = (
    (re.compile(r"\b(CAL|ENG|COM)\b|calibration|engineering|commissioning", re.I), "instrument calibration"),
    (re.compile(r"solar system", re.I), "solar system objects"),
)

_PLACEHOLDER = re.compile(
    r"""^\W*(?:
        tb[dacs] | n\W?a | none | null | nil | empty | x+ | \?+ | dummy | placeholder | lorem\s+ipsum.*
      | (?:this\s+is\s+)?(?:a\s+)?(?:test|dummy|placeholder)(?:\s+(?:proposal|abstract|program|programme|entry))?
      | (?:no\s+)?abstract(?:\s+(?:section|text))?(?:\s+(?:is|was))?(?:\s+not\s+\w+)?(?:\s+(?:here|yet))?
      | (?:not|none)\s+(?:available|provided|given|supplied|entered)
      | to\s+be\s+(?:determined|provided|supplied|added|written|completed|announced|confirmed)(?:\s+later)?
      | see\s+(?:attached|proposal|above|below|title)
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)


class NothingFound(ValueError):
    """The vocabulary matched no object or no use case: recorded as a failed caption."""

    def __init__(self, message: str, reason: str = "no_terms"):
        super().__init__(message)
        self.reason = reason  # no_object | no_use_case


class Unsummarisable(ValueError):
    """A placeholder or near-empty abstract: recorded as skipped, never summarised."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason  # placeholder | near_empty


@dataclass(frozen=True)
class Evidence:
    """Why a summary term is there: the words of the title or abstract that said it."""

    term: str
    kind: str
    text: str
    start: int | None  # offsets in ``field``; None for implied terms
    end: int | None
    field: str  # abstract | title | category | implied
    rule: str


@dataclass(frozen=True)
class Extraction:
    summary: ProposalSummary
    evidence: tuple[Evidence, ...]  # every mention of every chosen term, in reading order

    def as_json(self) -> list[dict]:
        return [asdict(e) for e in self.evidence]


def unsummarisable(abstract: str) -> Unsummarisable | None:
    """Why an abstract cannot be summarised (a placeholder, too few words), or ``None``."""
    text = " ".join(abstract.split())
    if _PLACEHOLDER.match(text) or not any(c.isalnum() for c in text):
        return Unsummarisable(f"placeholder abstract: {text[:60]!r}", "placeholder")
    words = re.findall(r"[^\W\d_]{2,}", text)
    if len(words) < MIN_WORDS:
        return Unsummarisable(f"near-empty abstract ({len(words)} words): {text[:60]!r}", "near_empty")
    return None


_VALUE = re.compile(r"\s*(?:of\s+|is\s+|~\s*)?[<>=≈~≲≳±]|\s*(?:of\s+)?\d")


def _weight(m: Mention, text: str) -> float:
    weight = 1 + SPECIFICITY * (len(m.term.text.split()) - 1)
    if m.field == "title":
        return TITLE_WEIGHT * weight
    if m.term.kind == "use_case" and _VALUE.match(text, m.end):
        weight *= QUOTED_WEIGHT
    return (EARLY_WEIGHT if m.start < len(text) / 4 else 1.0) * weight


def rank_terms(abstract: str, title: str | None = None) -> dict[str, list[tuple[str, float]]]:
    """Terms per kind (``object``, ``use_case``) with their salience, most salient first."""
    ranked = _ranked(find_mentions(abstract, title), abstract)
    return {kind: [(t.text, score) for t, score in ranked[kind]] for kind in KINDS}


def _ranked(mentions: list[Mention], abstract: str) -> dict[str, list[tuple[Term, float]]]:
    score: dict[Term, float] = {}
    first: dict[Term, tuple[bool, int]] = {}
    for m in mentions:
        score[m.term] = score.get(m.term, 0.0) + _weight(m, abstract)
        order = (m.field != "title", m.start)
        first[m.term] = min(first.get(m.term, order), order)
    ordered = sorted(score, key=lambda t: (-score[t], first[t], t.text))
    return {kind: [(t, score[t]) for t in ordered if t.kind == kind] for kind in KINDS}


def _choose(ranked: list[tuple[Term, float]]) -> list[Term]:
    if not ranked:
        return []
    best = ranked[0][1]
    return [t for t, score in ranked[:MAX_ITEMS] if score >= MIN_SHARE * best]


def explain(abstract: str, title: str | None = None, category: str | None = None) -> Extraction:
    """The summary of one abstract and the evidence of each term.

    Raises ``Unsummarisable`` for placeholders and near-empty abstracts, ``NothingFound`` when
    a list would stay empty.
    """
    if refused := unsummarisable(abstract):
        raise refused
    mentions = find_mentions(abstract, title)
    ranked = _ranked(mentions, abstract)
    chosen = {kind: _choose(ranked[kind]) for kind in KINDS}
    evidence = [
        Evidence(m.term.text, m.term.kind, m.text, m.start, m.end, m.field, m.rule)
        for m in mentions
        if m.term in chosen[m.term.kind]
    ]
    by_text = {(t.text, t.kind): t for t in load_vocabulary()}
    for kind in KINDS:
        if chosen[kind]:
            continue
        for pattern, text in CATEGORY_TERMS:  # what the proposal's category says comes first
            if category and pattern.search(category) and (text, kind) in by_text:
                chosen[kind] = [by_text[(text, kind)]]
                evidence.append(Evidence(text, kind, category, None, None, "category", "proposal category"))
                break
        implied = next((t for t in chosen[OTHER_KIND[kind]] if t.implies), None)
        if not chosen[kind] and implied is not None:
            term = by_text[(implied.implies, kind)]
            chosen[kind] = [term]
            rule = f"implied by {implied.text!r}"
            evidence.append(Evidence(term.text, kind, implied.text, None, None, "implied", rule))
    for kind, missing in (("object", "object"), ("use_case", "science use case")):
        if not chosen[kind]:
            raise NothingFound(f"no {missing} from the vocabulary found in the abstract", f"no_{kind}")
    summary = ProposalSummary(
        objects_and_phenomena=[t.text for t in chosen["object"]],
        science_use_cases=[t.text for t in chosen["use_case"]],
    )
    return Extraction(summary, tuple(evidence))


def extract(abstract: str, title: str | None = None, category: str | None = None) -> ProposalSummary:
    """The structured summary of one abstract (see ``explain``)."""
    return explain(abstract, title, category).summary
