"""The offline extractor: vocabulary terms found in the abstract, ranked by salience.

Deterministic and network-free, so captions exist without an LLM. Text and phrases are cut
into words (hyphens and slashes separate words), plurals and singulars of a phrase's last
word match each other, and phrases with acronyms (``AGN``, ``SNe``, ``HII``) match
case-sensitively only. Scanning left to right, the longest phrase starting at a word wins
("dwarf galaxies" over "galaxies"). A term's salience sums its mentions, weighted up early in
the text and in the title, and up for specific (multi-word) phrases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from paperclip.vocabulary import Term, load_vocabulary
from training.captions.schema import ProposalSummary

MAX_ITEMS = 5
TITLE_WEIGHT = 2.0
EARLY_WEIGHT = 1.5  # mentions in the first quarter of the abstract, where proposals say what they study
SPECIFICITY = 0.3  # extra weight per word beyond the first

_WORD = re.compile(r"\w+(?:'\w+)?")


class NothingFound(ValueError):
    """The vocabulary matched no object or no use case: recorded as a failed caption."""


def _is_acronym(token: str) -> bool:
    """``AGN``, ``SNe``, ``HII``, and single capitals (``O stars``, ``H I``)."""
    return any(c.isupper() for c in token[1:]) or (len(token) == 1 and token.isupper())


def _inflections(word: str) -> set[str]:
    """The word with its plural/singular counterpart (regular English and Latin endings)."""
    forms = {word}
    if word.endswith("ies") and len(word) > 4:
        forms.add(word[:-3] + "y")
    elif word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        forms.add(word[:-1] + "ies")
    elif word.endswith("ae"):
        forms.add(word[:-1])
    elif word.endswith("a"):
        forms |= {word + "e", word + "s"}
    elif word.endswith("i") and len(word) > 3:
        forms.add(word[:-1] + "us")
    elif word.endswith("us"):
        forms.add(word[:-2] + "i")
    elif re.search(r"(ss|x|ch|sh)es$", word):
        forms.add(word[:-2])
    elif word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    elif re.search(r"(s|x|ch|sh)$", word):
        forms.add(word + "es")
    else:
        forms.add(word + "s")
    return forms


def normalize(text: str) -> str:
    """Hyphens, dashes and slashes as spaces; one character for one, so offsets are kept."""
    return re.sub(r"[-\u2010-\u2015/]", " ", text)


def phrase_keys(phrase: str) -> tuple[bool, set[tuple[str, ...]]]:
    """Whether the phrase matches case-sensitively, and the word tuples it matches."""
    words = _WORD.findall(normalize(phrase))
    if any(_is_acronym(w) for w in words):
        return True, {(*words[:-1], last) for last in (words[-1], words[-1] + "s")}
    words = [w.lower() for w in words]
    return False, {(*words[:-1], last) for last in _inflections(words[-1])}


@dataclass(frozen=True)
class PhraseTable:
    insensitive: dict[tuple[str, ...], Term]
    sensitive: dict[tuple[str, ...], Term]
    longest: dict[str, int]  # first word (lower case) -> words in the longest phrase it starts


@lru_cache
def phrase_table() -> PhraseTable:
    tables: dict[bool, dict[tuple[str, ...], Term]] = {False: {}, True: {}}
    for term in load_vocabulary():
        for phrase in (term.text, *term.synonyms):
            sensitive, keys = phrase_keys(phrase)
            for key in keys:
                tables[sensitive].setdefault(key, term)
    longest: dict[str, int] = {}
    for key in (*tables[False], *tables[True]):
        longest[key[0].lower()] = max(longest.get(key[0].lower(), 0), len(key))
    return PhraseTable(tables[False], tables[True], longest)


@dataclass
class Match:
    term: Term
    start: int
    end: int
    weight: float


def find_terms(text: str, weight: float = 1.0) -> list[Match]:
    """Every vocabulary mention, left to right, the longest phrase at each word."""
    table = phrase_table()
    norm = normalize(text)
    words = list(_WORD.finditer(norm))
    exact = [w.group() for w in words]
    lower = [w.lower() for w in exact]
    early = len(norm) / 4
    found: list[Match] = []
    i = 0
    while i < len(words):
        for n in range(min(table.longest.get(lower[i], 0), len(words) - i), 0, -1):
            span = words[i : i + n]
            if any(norm[a.end() : b.start()].strip() for a, b in pairwise(span)):
                continue  # a phrase never spans punctuation
            term = table.sensitive.get(tuple(exact[i : i + n])) or table.insensitive.get(
                tuple(lower[i : i + n])
            )
            if term:
                start = span[0].start()
                w = weight * (EARLY_WEIGHT if start < early else 1.0)
                found.append(Match(term, start, span[-1].end(), w))
                i += n
                break
        else:
            i += 1
    return found


def rank_terms(abstract: str, title: str | None = None) -> dict[str, list[tuple[str, float]]]:
    """Terms per kind (``object``, ``use_case``) with their salience, most salient first."""
    matches = find_terms(abstract) + (find_terms(title, TITLE_WEIGHT) if title else [])
    score: dict[Term, float] = {}
    first: dict[Term, int] = {}
    for m in matches:
        specificity = 1 + SPECIFICITY * (len(m.term.text.split()) - 1)
        score[m.term] = score.get(m.term, 0.0) + m.weight * specificity
        first[m.term] = min(first.get(m.term, m.start), m.start)
    ranked = sorted(score, key=lambda t: (-score[t], first[t], t.text))
    return {kind: [(t.text, score[t]) for t in ranked if t.kind == kind] for kind in ("object", "use_case")}


def extract(abstract: str, title: str | None = None) -> ProposalSummary:
    """The structured summary of one abstract; raises ``NothingFound`` if a list would be empty."""
    ranked = rank_terms(abstract, title)
    objects = [text for text, _ in ranked["object"][:MAX_ITEMS]]
    uses = [text for text, _ in ranked["use_case"][:MAX_ITEMS]]
    if not objects or not uses:
        missing = "object" if not objects else "science use case"
        raise NothingFound(f"no {missing} from the vocabulary found in the abstract")
    return ProposalSummary(objects_and_phenomena=objects, science_use_cases=uses)
