"""The free-form evaluation set stays what it claims: six queries per demo class in plain words,
none made of the vocabulary's own phrases (which the offline extractor puts into training
summaries, so a query built from them grades the model on its own training text)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from indexer.synth import CLASSES
from paperclip.vocabulary import load_vocabulary

QUERIES = Path(__file__).parent / "data" / "freeform" / "queries.json"
# Plain English no query about the sky can avoid; every other term, synonym and name is banned.
GENERIC = {"galaxy", "galaxies", "star", "stars", "dust"}


def _phrases() -> set[str]:
    out: set[str] = set()
    for term in load_vocabulary():
        out.update(p.lower() for p in (term.text, *term.synonyms, *term.names))
    return out - GENERIC


def test_every_demo_class_has_at_least_five_distinct_queries() -> None:
    queries = json.loads(QUERIES.read_text())["queries"]
    assert set(queries) == {c.label for c in CLASSES}
    for label, texts in queries.items():
        assert len(set(texts)) >= 5, label


def test_no_query_holds_a_vocabulary_phrase_or_its_class_label() -> None:
    phrases = _phrases()
    found = []
    for label, texts in json.loads(QUERIES.read_text())["queries"].items():
        for query in texts:
            words = query.lower()
            found += [
                (query, p)
                for p in (*phrases, label)
                if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", words)
            ]
    assert found == []
