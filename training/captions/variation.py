"""The ``varied`` caption variant: several texts per proposal, one drawn per training step.

A summary is written with the vocabulary's own terms, the same few words for every proposal of a
kind, while people search in their own words. Training on one fixed summary per proposal fits
the model to those words; drawing each step among the summary, its rephrasings, its terms'
synonyms (all held by the vocabulary already) and windows of the raw abstract teaches the model
the many ways one science case is written, without any text outside the archive's own.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import lru_cache

from paperclip.vocabulary import load_vocabulary
from training.captions.raw import sentence_window

ALTERNATIVES = 8  # texts per proposal (a fixed count keeps the cached-feature table rectangular)
RAW_WINDOWS = 3  # of them, windows of the raw abstract (when the proposal has one)

_PHRASINGS = (
    "{objects}; {uses}",
    "{objects}",
    "{objects}, observed for {uses}",
    "Hubble image of {objects}. Science: {uses}.",
    "{uses} with images of {objects}",
)


@lru_cache(maxsize=1)
def _synonyms() -> dict[str, tuple[str, ...]]:
    """Term text (lower case) -> the phrases that always mean it."""
    return {t.text.lower(): t.synonyms for t in load_vocabulary() if t.synonyms}


def _parts(summary: str) -> tuple[list[str], list[str]]:
    objects, _, uses = summary.partition(";")
    split = lambda part: [x.strip() for x in part.split(",") if x.strip()]  # noqa: E731
    return split(objects), split(uses)


def _reword(terms: list[str], rng: random.Random) -> list[str]:
    """Each term as itself or, half the time, one of its synonyms."""
    synonyms = _synonyms()
    return [
        rng.choice(synonyms[t.lower()]) if t.lower() in synonyms and rng.random() < 0.5 else t for t in terms
    ]


def rephrase(summary: str, rng: random.Random) -> str:
    """One rephrasing of ``"<objects>; <uses>"``: order, synonyms and sentence frame drawn from ``rng``."""
    objects, uses = _parts(summary)
    if not objects:
        return summary
    objects, uses = _reword(objects, rng), _reword(uses, rng)
    rng.shuffle(objects)
    rng.shuffle(uses)
    frames = _PHRASINGS if uses else _PHRASINGS[1:2]
    return rng.choice(frames).format(objects=", ".join(objects), uses=", ".join(uses))


def caption_alternatives(
    summary: str, raw: str | None, fits: Callable[[str], bool], seed: int, n: int = ALTERNATIVES
) -> tuple[str, ...]:
    """``n`` texts for one proposal: the summary first, rephrasings, raw windows; a function of ``seed``.

    Repeats where the proposal yields fewer distinct texts, so every proposal has ``n``.
    """
    rng = random.Random(seed)
    texts = [summary]
    if raw:
        texts += [sentence_window(raw, fits, rng) for _ in range(RAW_WINDOWS)]
    for _ in range(4 * n):
        if len(dict.fromkeys(texts)) >= n:
            break
        texts.append(rephrase(summary, rng))
    distinct = [t for t in dict.fromkeys(texts) if t and fits(t)] or [summary]
    return tuple(distinct[i % len(distinct)] for i in range(n))
