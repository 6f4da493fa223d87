"""The astronomy vocabulary: the caption extractor's terms and description retrieval's choices.

``paperclip/data/vocabulary.json`` holds object classes and science use cases, each with
synonyms and acronyms; ``source`` is ``paper`` for the 77 categories of the PAPERCLIP
paper's description retrieval and ``curated`` for ours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

from sqlalchemy.orm import Session

from paperclip.db import upsert
from paperclip.schema import VocabularyTerm

KINDS = {"objects": "object", "use_cases": "use_case"}


@dataclass(frozen=True)
class Term:
    text: str
    kind: str  # object | use_case
    source: str
    synonyms: tuple[str, ...] = field(default_factory=tuple)


@lru_cache
def load_vocabulary() -> tuple[Term, ...]:
    raw = json.loads(files("paperclip").joinpath("data/vocabulary.json").read_text())
    return tuple(
        Term(item["text"], kind, item.get("source", "curated"), tuple(item.get("synonyms", ())))
        for section, kind in KINDS.items()
        for item in raw[section]
    )


def seed_vocabulary(session: Session) -> int:
    """Make the vocabulary table hold every term of the data file (idempotent); returns the count."""
    rows = [{"text": t.text, "kind": t.kind, "source": t.source} for t in load_vocabulary()]
    upsert(session, VocabularyTerm, rows, key=["text", "kind"], update=["source"])
    return len(rows)
