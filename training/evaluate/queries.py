"""The text queries evaluation asks: the paper's showcase queries, one per ground-truth class in the
vocabulary's words, and optional free-form queries per class from a file."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from paperclip.vocabulary import load_vocabulary

# The image-retrieval queries of the PAPERCLIP paper (its Figs. 4-6 and the LLM-judged precision).
PAPER_QUERIES = (
    "globular cluster",
    "dwarf galaxy",
    "SN1987A",
    "strong lensing",
    "galaxy clusters",
    "interstellar medium",
    "dark matter",
    "spiral galaxies",
    "lyman alpha",
    "comets",
    "Jupiter",
)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text).strip().lower()


@lru_cache(maxsize=1024)
def class_query(label: str) -> str:
    """The text query for a ground-truth label.

    A label naming a vocabulary term or synonym (ignoring case, ``_`` and ``-``) asks with that
    term's text, so ``core_collapse_supernova`` asks "core-collapse supernova"; any other label
    asks with underscores turned to spaces (``planetary_nebula`` -> "planetary nebula").
    """
    key = _norm(label)
    for term in load_vocabulary():
        if key in {_norm(term.text), *map(_norm, term.synonyms)}:
            return term.text
    return re.sub(r"[\s_]+", " ", label).strip()


# The demo archive's free-form set, written before any tuning; it lives with the tests (which check
# it holds no vocabulary phrase) and is read from the source checkout ``make demo`` installs from.
DEMO_FREEFORM = Path(__file__).resolve().parents[2] / "tests" / "data" / "freeform" / "queries.json"


def load_freeform(path: Path) -> dict[str, list[str]]:
    """Free-form queries per ground-truth label from a JSON file ``{"queries": {label: [query, ...]}}``.

    Queries written in a searcher's own words, not the vocabulary's: the class queries above use
    the very terms the offline extractor writes into training summaries, so they grade the model
    on its own training text; these measure what a person typing into the search box gets.
    """
    data = json.loads(Path(path).read_text())
    queries = data.get("queries") if isinstance(data, dict) else None
    if not isinstance(queries, dict) or not all(
        isinstance(v, list) and all(isinstance(q, str) for q in v) for v in queries.values()
    ):
        raise ValueError(f"{path}: expected {{'queries': {{label: [query, ...]}}}}")
    return {str(label): [q for q in texts if q.strip()] for label, texts in queries.items()}
