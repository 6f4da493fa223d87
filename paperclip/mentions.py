"""Where the vocabulary's terms are mentioned in a title and abstract, with the words that say so.

Sense before match. Text and phrases are cut into words (hyphens and slashes separate words);
the last word of a phrase matches its plural or singular. Acronyms (``AGN``, ``SNe``, ``HII``)
match only with their case, other words in any case, named instances (``Europa``) exactly.
Scanning left to right, the longest phrase at a word wins, so "gas giant exoplanets" is read
before "gas giant", and an ignored phrase ("signal-to-noise ratio") hides its words. Then:

- an acronym the abstract defines ("signal-to-noise ratio (SNR)", "Galactic Center {GC}")
  means what its long form means there, or nothing when that is no vocabulary term;
- an ambiguous phrase (a term's ``senses``) counts only where its context agrees, and the
  sense with the nearest context wins ("satellites" near "Saturn" are moons, near "dwarf
  galaxies" satellite galaxies, elsewhere nothing);
- catalogue designations come from the terms' ``patterns``.

Every ``Mention`` keeps the span of the field it was read from and the rule that admitted it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from paperclip.vocabulary import Sense, Term, ignored_phrases, load_vocabulary

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?;]\s")
_UPPER, _LOWER = re.compile(r"[A-Z]"), re.compile(r"[a-z]")
_BRACKET_OPEN = "({["
_BRACKET_CLOSE = ")}];,"


@dataclass(frozen=True)
class Mention:
    term: Term
    start: int  # character offsets in the field's text
    end: int
    text: str  # the words of the field that say it
    rule: str  # why it counts: "phrase", "name", "pattern", "acronym defined as ...", "sense: ..."
    field: str = "abstract"  # abstract | title


def is_acronym(token: str) -> bool:
    """``AGN``, ``SNe``, ``HII``, ``EoR`` and single capitals (``O stars``, ``H I``)."""
    rest = token[1:]
    return rest != rest.lower() or (len(token) == 1 and token.isupper())


def inflections(word: str) -> set[str]:
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
    return re.sub(r"[-\u2010-\u2015\u2212/]", " ", text)


def _key_word(word: str) -> str:
    return word if is_acronym(word) else word.lower()


def phrase_keys(phrase: str, inflect: bool = True) -> set[tuple[str, ...]]:
    """The word tuples a phrase matches: acronyms keep their case, the last word its plural."""
    words = [_key_word(w) for w in _WORD.findall(normalize(phrase))]
    if not words or not inflect:
        return {tuple(words)} - {()}
    last = words[-1]
    forms = {last, last + "s"} if is_acronym(last) else inflections(last)
    return {(*words[:-1], form) for form in forms}


def name_keys(name: str) -> set[tuple[str, ...]]:
    return {tuple(_WORD.findall(normalize(name)))} - {()}


@dataclass(frozen=True)
class _Entry:
    term: Term | None  # None: an ignored phrase
    sense: Sense | None
    how: str  # phrase | name | sense | ignore


@dataclass(frozen=True)
class _Context:
    keys: frozenset[tuple[str, ...]]
    label: dict[tuple[str, ...], str]

    @classmethod
    def of(cls, phrases: tuple[str, ...]) -> _Context:
        label = {key: phrase for phrase in phrases for key in phrase_keys(phrase)}
        return cls(frozenset(label), label)


@dataclass(frozen=True)
class _Table:
    phrases: dict[tuple[str, ...], tuple[_Entry, ...]]  # keys as phrase_keys makes them
    names: dict[tuple[str, ...], tuple[_Entry, ...]]  # exact words
    longest: dict[str, int]  # first word (lower case) -> words in the longest key it starts
    patterns: tuple[tuple[re.Pattern[str], Term], ...]
    contexts: dict[Sense, tuple[_Context, _Context, _Context, _Context]]
    by_phrase: dict[tuple[str, ...], Term]  # unconditional keys, to read an acronym's long form


@lru_cache
def table() -> _Table:
    phrases: dict[tuple[str, ...], list[_Entry]] = {}
    names: dict[tuple[str, ...], list[_Entry]] = {}
    contexts = {}
    patterns = []
    for phrase in ignored_phrases():  # exactly as written: "transient" hides the adjective, not "transients"
        for key in phrase_keys(phrase, inflect=False):
            phrases.setdefault(key, []).append(_Entry(None, None, "ignore"))
    for term in load_vocabulary():
        for phrase in (term.text, *term.synonyms):
            for key in phrase_keys(phrase):
                phrases.setdefault(key, []).append(_Entry(term, None, "phrase"))
        for name in term.names:
            for key in name_keys(name):
                names.setdefault(key, []).append(_Entry(term, None, "name"))
        for sense in term.senses:
            contexts[sense] = tuple(
                _Context.of(getattr(sense, k)) for k in ("near", "not_near", "doc", "not_doc")
            )
            for phrase in sense.phrases:
                for key in phrase_keys(phrase):
                    phrases.setdefault(key, []).append(_Entry(term, sense, "sense"))
        patterns += [(re.compile(p), term) for p in term.patterns]
    longest: dict[str, int] = {}
    for key in (*phrases, *names):
        longest[key[0].lower()] = max(longest.get(key[0].lower(), 0), len(key))
    by_phrase = {
        key: entries[0].term
        for key, entries in phrases.items()
        if entries[0].term is not None and entries[0].sense is None
    }
    return _Table(
        {k: tuple(v) for k, v in phrases.items()},
        {k: tuple(v) for k, v in names.items()},
        longest,
        tuple(patterns),
        contexts,
        by_phrase,
    )


class _Field:
    """One field's words, their sentence numbers, and where each word occurs."""

    def __init__(self, name: str, text: str):
        self.name = name
        self.text = text
        self.norm = normalize(text)
        self.spans = list(_WORD.finditer(self.norm))
        self.exact = [m.group() for m in self.spans]
        upper, lower = len(_UPPER.findall(text)), len(_LOWER.findall(text))
        shouting = upper + lower > 20 and upper > 1.5 * lower  # an abstract in capitals
        self.keyed = [w.lower() if shouting else _key_word(w) for w in self.exact]
        self.sentence = []
        n = 0
        for i, span in enumerate(self.spans):
            if i and _SENTENCE_END.search(self.norm[self.spans[i - 1].end() : span.start() + 1]):
                n += 1
            self.sentence.append(n)
        self.where: dict[str, list[int]] = {}
        for i, word in enumerate(self.keyed):
            self.where.setdefault(word, []).append(i)
            if shouting and is_acronym(self.exact[i]):
                self.where.setdefault(self.exact[i], []).append(i)

    def joined(self, i: int, j: int) -> bool:
        """Whether words i..j-1 follow each other with nothing but spaces between."""
        return all(
            not self.norm[self.spans[k].end() : self.spans[k + 1].start()].strip() for k in range(i, j - 1)
        )

    def occurrences(self, key: tuple[str, ...]) -> list[int]:
        n = len(key)
        return [
            i
            for i in self.where.get(key[0], ())
            if i + n <= len(self.keyed) and tuple(self.keyed[i : i + n]) == key and self.joined(i, i + n)
        ]

    def span(self, i: int, j: int) -> tuple[int, int]:
        return self.spans[i].start(), self.spans[j - 1].end()


def _nearest(here: _Field, i: int, j: int, ctx: _Context, window: int) -> tuple[int, str] | None:
    """The closest context phrase within ``window`` words of words i..j-1, in the same sentence."""
    best = None
    for key in ctx.keys:
        for p in here.occurrences(key):
            q = p + len(key)
            if here.sentence[p] != here.sentence[i] or (p >= i and q <= j):
                continue  # a context must lie (at least partly) outside the phrase itself
            distance = max(i - q + 1, p - j + 1, 0)
            if distance <= window and (best is None or distance < best[0]):
                best = (distance, ctx.label[key])
    return best


def _anywhere(fields: list[_Field], ctx: _Context) -> str | None:
    for f in fields:
        for key in ctx.keys:
            if f.occurrences(key):
                return ctx.label[key]
    return None


def _judge(fields: list[_Field], here: _Field, i: int, j: int, sense: Sense) -> tuple[int, str] | None:
    """(distance, reason) when the context agrees with this sense; ``None`` when it does not."""
    near, not_near, doc, not_doc = table().contexts[sense]
    found = (sense.window + 1, "")
    if sense.near:
        found = _nearest(here, i, j, near, sense.window)
        if found is None:
            return None
        found = (found[0], f"near {found[1]!r}")
    if sense.not_near and _nearest(here, i, j, not_near, sense.window):
        return None
    if sense.doc:
        hit = _anywhere(fields, doc)
        if hit is None:
            return None
        found = (found[0], f"{found[1]}, " * bool(found[1]) + f"abstract mentions {hit!r}")
    if sense.not_doc and _anywhere(fields, not_doc):
        return None
    return found


def _long_form(f: _Field, k: int) -> list[int] | None:
    """Schwartz-Hearst: the words before position k whose letters spell the acronym at k."""
    acronym = f.exact[k]
    letters = [c.lower() for c in (acronym[:-1] if acronym.endswith("s") else acronym) if c.isalnum()]
    if not letters:
        return None
    start_limit = max(0, k - len(letters) - 4)
    for a in range(k - 1, start_limit - 1, -1):
        if not f.joined(a, k) or f.sentence[a] != f.sentence[k - 1]:
            break
        words = [w.lower() for w in f.exact[a:k]]
        if words[0][0] != letters[0]:
            continue
        flat, pos = "".join(words), 0
        for c in letters:
            pos = flat.find(c, pos) + 1
            if not pos:
                break
        else:
            return list(range(a, k))
    return None


def _definitions(f: _Field) -> tuple[dict[str, tuple[Term | None, str]], set[int]]:
    """Acronyms this field defines in brackets, what they mean here, and the bracketed words."""
    table_ = table()
    defined: dict[str, tuple[Term | None, str]] = {}
    inside: set[int] = set()
    for k, word in enumerate(f.exact):
        if not (is_acronym(word) and len(word) >= 2 and k):
            continue
        before = f.text[: f.spans[k].start()].rstrip()
        after = f.text[f.spans[k].end() :].lstrip()
        if not (before.endswith(tuple(_BRACKET_OPEN)) and after.startswith(tuple(_BRACKET_CLOSE))):
            continue
        words = _long_form(f, k)
        if words is None:
            continue
        term = None
        for a in words:  # the longest vocabulary phrase ending the long form names its meaning
            term = table_.by_phrase.get(tuple(f.keyed[a : words[-1] + 1]))
            if term is not None:
                break
        bare = word[:-1] if word.endswith("s") and is_acronym(word[:-1]) else word
        long_form = f.text[f.spans[words[0]].start() : f.spans[words[-1]].end()]
        defined.setdefault(bare, (term, long_form))
        inside.add(k)
    return defined, inside


def _resolve(fields: list[_Field], f: _Field, i: int, j: int, entries: tuple[_Entry, ...]):
    """The term these entries give words i..j-1 here, as (term, rule); "ignore"; or None."""
    if any(e.how == "ignore" for e in entries):
        return "ignore"
    for e in entries:
        if e.sense is None:
            return e.term, e.how
    judged = [(found, e) for e in entries if (found := _judge(fields, f, i, j, e.sense)) is not None]
    if not judged:
        return None
    (_, reason), e = min(judged, key=lambda x: x[0][0])
    return e.term, f"sense: {reason or 'no conflicting context'}"


def _scan(fields: list[_Field], f: _Field) -> tuple[list[Mention], list[tuple[int, int]]]:
    table_ = table()
    defined, inside = _definitions(f)
    mentions: list[Mention] = []
    hidden: list[tuple[int, int]] = []
    n = len(f.exact)
    i = 0
    while i < n:
        step = 1
        for length in range(min(table_.longest.get(f.exact[i].lower(), 1), n - i), 0, -1):
            if length == 1 and i in inside:
                break
            bare = f.exact[i][:-1] if f.exact[i].endswith("s") else f.exact[i]
            if length == 1 and (f.exact[i] in defined or bare in defined):
                term, long_form = defined.get(f.exact[i]) or defined[bare]
                if term is not None:
                    start, end = f.span(i, i + 1)
                    rule = f"acronym defined as {long_form!r}"
                    mentions.append(Mention(term, start, end, f.text[start:end], rule, f.name))
                break
            if not f.joined(i, i + length):
                continue
            entries = table_.names.get(tuple(f.exact[i : i + length]), ()) + table_.phrases.get(
                tuple(f.keyed[i : i + length]), ()
            )
            if not entries:
                continue
            resolved = _resolve(fields, f, i, i + length, entries)
            if resolved is None:
                continue
            start, end = f.span(i, i + length)
            if resolved == "ignore":
                hidden.append((start, end))
            else:
                term, rule = resolved
                mentions.append(Mention(term, start, end, f.text[start:end], rule, f.name))
            step = length
            break
        i += step
    return mentions, hidden


def _designations(f: _Field, mentions: list[Mention], hidden: list[tuple[int, int]]) -> list[Mention]:
    found = []
    for pattern, term in table().patterns:
        for m in pattern.finditer(f.text):
            start, end = m.span()
            if any(a <= start and end <= b for a, b in hidden):
                continue
            if any(x.term == term and x.start < end and start < x.end for x in mentions):
                continue
            found.append(Mention(term, start, end, m.group(), "pattern", f.name))
    return found


def find_mentions(abstract: str, title: str | None = None) -> list[Mention]:
    """Every vocabulary mention in the title and the abstract, in reading order (title first)."""
    fields = [_Field(name, text) for name, text in (("title", title), ("abstract", abstract)) if text]
    out: list[Mention] = []
    for f in fields:
        mentions, hidden = _scan(fields, f)
        mentions += _designations(f, mentions, hidden)
        out += sorted(mentions, key=lambda m: (m.start, -m.end))
    return out


def evidence(abstract: str | None, title: str | None, terms: list[str]) -> dict[str, str]:
    """For each of ``terms`` the text mentions, the words that say it: the abstract's first
    mention, else the title's. Terms from no vocabulary (an LLM's) get none."""
    wanted = set(terms)
    found: dict[str, str] = {}
    mentions = find_mentions(abstract or "", title)
    for m in sorted(mentions, key=lambda m: m.field == "title"):  # stable: reading order within a field
        if m.term.text in wanted and m.term.text not in found:
            found[m.term.text] = m.text
    return found
