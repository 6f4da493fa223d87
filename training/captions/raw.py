"""The raw variant: ``"Category: <category>. <abstract>"``, cut to whole sentences that fit the text tower.

Training samples a random window of sentences each epoch (more of each abstract is seen);
evaluation takes the deterministic window from the start.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

# Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = (
    "e.g",
    "i.e",
    "al",  # et al.
    "etc",
    "vs",
    "cf",
    "approx",
    "ca",
    "fig",
    "figs",
    "eq",
    "eqs",
    "ref",
    "refs",
    "dr",
    "st",
    "no",
    "nos",
    "resp",
    "incl",
    "mt",
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]}]*\s+(?=[\"'(\[{]?[A-Z0-9])")
_WORD_BEFORE_DOT = re.compile(r"(\S+)\.$")


def normalize(text: str) -> str:
    """Collapse the tabs and runs of spaces that archive abstracts carry."""
    return re.sub(r"\s+", " ", text).strip()


def raw_caption(category: str | None, abstract: str) -> str:
    """The paper's raw caption; proposals without a category get the abstract alone."""
    abstract = normalize(abstract)
    category = normalize(category or "").rstrip(".")
    return f"Category: {category}. {abstract}" if category else abstract


def split_sentences(text: str) -> list[str]:
    """Whole sentences, keeping abbreviations (``e.g.``, ``et al.``) and decimals inside."""
    text = normalize(text)
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        head = text[start : match.start()].rstrip("\"')]}")
        word = _WORD_BEFORE_DOT.search(head)
        if word and word.group(1).lower().lstrip("(") in _ABBREVIATIONS:
            continue
        if word and len(word.group(1)) == 1 and word.group(1).isupper():  # an initial: "A. Smith"
            continue
        sentences.append(text[start : match.start()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def sentence_window(text: str, fits: Callable[[str], bool], rng: random.Random | None = None) -> str:
    """The longest run of whole sentences from a start sentence that still ``fits``.

    ``rng=None`` starts at the first sentence (evaluation); otherwise the start is drawn
    uniformly, so over draws every sentence is seen. A single sentence longer than the
    context is the one case that cannot stay whole: it is cut at the last word that fits.
    """
    sentences = split_sentences(text)
    if not sentences:
        return ""
    start = 0 if rng is None else rng.randrange(len(sentences))
    window = ""
    for sentence in sentences[start:]:
        candidate = f"{window} {sentence}" if window else sentence
        if not fits(candidate):
            break
        window = candidate
    return window or _word_prefix(sentences[start], fits)


def _word_prefix(sentence: str, fits: Callable[[str], bool]) -> str:
    """The longest prefix of whole words that fits (binary search: ``fits`` may run a tokenizer)."""
    words = sentence.split(" ")
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(" ".join(words[:mid])):
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])
