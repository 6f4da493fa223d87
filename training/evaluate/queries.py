"""The text queries evaluation asks: the paper's showcase queries and one per ground-truth class."""

from __future__ import annotations

import re
from functools import lru_cache

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
