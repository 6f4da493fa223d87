"""The astronomy vocabulary: the caption extractor's terms and description retrieval's choices.

``paperclip/data/vocabulary.json`` holds object classes (``objects``) and science use cases
(``use_cases``). Every term has ``text``, ``source`` (``paper`` for the 77 description categories
of the PAPERCLIP paper, ``curated`` for ours) and ``synonyms``: phrases that always mean it.
Version 3 adds optional fields, so readers of the older format keep working:

- ``names``: named instances, matched with their exact case ("Europa", "SN 1987A", "47 Tuc");
- ``patterns``: regular expressions for catalogue designations ("PSR J1023+0038");
- ``senses``: ambiguous phrases that mean the term only in context: ``near`` (one of these
  within ``window`` words in the same sentence), ``not_near``, ``doc`` (one of these anywhere
  in the title or abstract), ``not_doc``; ``@name`` refers to a list in the top-level
  ``contexts``. Sense phrases are not synonyms: description retrieval never sees them;
- ``implies``: a term of the other kind that a summary may name when the abstract names none.

The top-level ``ignore`` lists phrases that mean none of the terms ("signal-to-noise",
"Jupiter masses"), so their words never match a shorter phrase.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any

from sqlalchemy.orm import Session

from paperclip.db import upsert
from paperclip.schema import VocabularyTerm

KINDS = {"objects": "object", "use_cases": "use_case"}
OTHER_KIND = {"object": "use_case", "use_case": "object"}


@dataclass(frozen=True)
class Sense:
    """When an ambiguous phrase means its term; context lists are already expanded."""

    phrases: tuple[str, ...]
    near: tuple[str, ...] = ()
    not_near: tuple[str, ...] = ()
    doc: tuple[str, ...] = ()
    not_doc: tuple[str, ...] = ()
    window: int = 8


@dataclass(frozen=True)
class Term:
    text: str
    kind: str  # object | use_case
    source: str
    synonyms: tuple[str, ...] = field(default_factory=tuple)
    names: tuple[str, ...] = field(default_factory=tuple)
    patterns: tuple[str, ...] = field(default_factory=tuple)
    senses: tuple[Sense, ...] = field(default_factory=tuple)
    implies: str | None = None


class VocabularyError(ValueError):
    """The data file breaks its own rules (an unknown context, a bad pattern, ...)."""


def _raw() -> dict[str, Any]:
    return json.loads(files("paperclip").joinpath("data/vocabulary.json").read_text())


def _expand(items: list[str], contexts: dict[str, list[str]], where: str) -> tuple[str, ...]:
    out: list[str] = []
    for item in items:
        if item.startswith("@"):
            if item[1:] not in contexts:
                raise VocabularyError(f"{where}: unknown context {item!r}")
            out += contexts[item[1:]]
        else:
            out.append(item)
    return tuple(dict.fromkeys(out))


def _term(item: dict[str, Any], kind: str, contexts: dict[str, list[str]]) -> Term:
    where = f"{kind} {item['text']!r}"
    senses = tuple(
        Sense(
            phrases=tuple(s["phrases"]),
            **{k: _expand(s.get(k, []), contexts, where) for k in ("near", "not_near", "doc", "not_doc")},
            window=int(s.get("window", 8)),
        )
        for s in item.get("senses", ())
    )
    for pattern in item.get("patterns", ()):
        try:
            re.compile(pattern)
        except re.error as err:
            raise VocabularyError(f"{where}: bad pattern {pattern!r}: {err}") from err
    return Term(
        item["text"],
        kind,
        item.get("source", "curated"),
        tuple(item.get("synonyms", ())),
        tuple(item.get("names", ())),
        tuple(item.get("patterns", ())),
        senses,
        item.get("implies"),
    )


@lru_cache
def load_vocabulary() -> tuple[Term, ...]:
    raw = _raw()
    contexts = raw.get("contexts", {})
    terms = tuple(_term(item, kind, contexts) for section, kind in KINDS.items() for item in raw[section])
    known = {(t.text, t.kind) for t in terms}
    for t in terms:
        if t.implies and (t.implies, OTHER_KIND[t.kind]) not in known:
            raise VocabularyError(f"{t.kind} {t.text!r} implies unknown {OTHER_KIND[t.kind]} {t.implies!r}")
    return terms


@lru_cache
def ignored_phrases() -> tuple[str, ...]:
    """Phrases that mean none of the terms, so their words are not read as one."""
    return tuple(_raw().get("ignore", ()))


def seed_vocabulary(session: Session) -> int:
    """Make the vocabulary table hold every term of the data file (idempotent); returns the count."""
    rows = [{"text": t.text, "kind": t.kind, "source": t.source} for t in load_vocabulary()]
    upsert(session, VocabularyTerm, rows, key=["text", "kind"], update=["source"])
    return len(rows)
