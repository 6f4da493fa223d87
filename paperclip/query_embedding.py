"""A text query's embedding: the one place the service, evaluation and benchmarks turn words into a
query vector, so all three measure and serve the same thing.

Two optional kinds of query-side help (``benchmarks/bench_query.py`` measures them side by side):

- prompt ensembling: the query is also written into templates ("an image of {}", "a Hubble
  observation of {}") and the unit embeddings of every form are averaged, which smooths over
  phrasings the text tower happens to place oddly;
- vocabulary expansion: the embedding is blended with those of its nearest vocabulary terms
  (the description vocabulary the index version carries), weighted by their similarity, which
  pulls a plain-language query toward the astronomy phrases the model was trained on.

With neither, the query vector is the text tower's embedding of the query as typed, which is
the default: on the final demo (lite recipe: varied captions, only the image projection trained,
so queries stay in the sentence model's own space; ``benchmarks/bench_query.py``) expansion toward
the 3 nearest terms at 0.3 lowers free-form P@10 (0.554 -> 0.504 over the whole index) and
prompt ensembling lowers it too (0.525). With the former recipe, whose text projection was
trained, expansion had helped (0.301 -> 0.327): measure on your model before switching it on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PROMPTS = ("{}", "an image of {}", "a Hubble observation of {}")

Encode = Callable[[Sequence[str]], np.ndarray]  # texts -> (n, d) embeddings


@dataclass(frozen=True)
class QueryOptions:
    """How a query is embedded: ``prompts`` (templates with ``{}``; one plain ``{}`` = as typed),
    and expansion toward the ``expand_terms`` nearest vocabulary terms with blend ``expand_weight``
    (0: none, 1: the terms alone)."""

    prompts: tuple[str, ...] = ("{}",)
    expand_terms: int = 0
    expand_weight: float = 0.0

    def __post_init__(self) -> None:
        if not self.prompts or any("{}" not in p for p in self.prompts):
            raise ValueError("prompts must be templates with {} (at least one)")
        if self.expand_terms < 0 or not 0.0 <= self.expand_weight <= 1.0:
            raise ValueError("expand_terms must be >= 0 and expand_weight within [0, 1]")

    @property
    def expands(self) -> bool:
        return self.expand_terms > 0 and self.expand_weight > 0

    @classmethod
    def from_settings(cls, settings: Any) -> QueryOptions:
        return cls(
            PROMPTS if settings.query_prompts else ("{}",),
            settings.query_expand_terms,
            settings.query_expand_weight,
        )


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    x = np.asarray(x, np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def prompt_texts(text: str, options: QueryOptions) -> list[str]:
    """The forms of ``text`` that are embedded and averaged."""
    return [p.replace("{}", text) for p in options.prompts]


def combine(forms: np.ndarray, vocab_vectors: np.ndarray | None, options: QueryOptions) -> np.ndarray:
    """One unit query vector from the embeddings of its forms (``(len(prompts), d)``): their
    normalised mean, then blended toward the nearest vocabulary terms when ``options`` expands."""
    q = unit(unit(forms).mean(axis=0))
    if not options.expands or vocab_vectors is None or not len(vocab_vectors):
        return q
    terms = unit(vocab_vectors)
    sims = terms @ q
    top = np.argsort(-sims, kind="stable")[: options.expand_terms]
    weights = np.clip(sims[top], 0.0, None)
    if weights.sum() <= 0:
        return q
    pulled = unit((weights[:, None] * terms[top]).sum(axis=0))
    return unit((1.0 - options.expand_weight) * q + options.expand_weight * pulled)


def embed_queries(
    encode: Encode, texts: Sequence[str], vocab_vectors: np.ndarray | None, options: QueryOptions
) -> np.ndarray:
    """``(len(texts), d)`` unit query vectors, every form of every text encoded in one call."""
    if not len(texts):
        return np.zeros((0, 0), np.float32)
    forms = [f for t in texts for f in prompt_texts(t, options)]
    vecs = np.asarray(encode(forms), np.float32).reshape(len(texts), len(options.prompts), -1)
    return np.stack([combine(v, vocab_vectors, options) for v in vecs])
