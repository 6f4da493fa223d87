"""How good the offline extractor's summaries are: coverage on real abstracts, precision on hand labels.

Coverage is the share of summarisable abstracts (not placeholders or near-empty) that get at
least one object and one use case. Precision is measured on a hand-labelled set
(``tests/data/captions/labelled.jsonl``): for each abstract, the vocabulary terms a careful
reader accepts and some that would be wrong, each with its reason. Every extracted term must
be accepted; a term the labels do not name counts as wrong too, so the labels cannot fall
behind the extractor unnoticed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from training.captions.extract import NothingFound, Unsummarisable, extract

_CATEGORY = re.compile(r"Category: (.*?)\.\s+(.*)")


def real_abstracts(hst_mini: Path) -> list[tuple[str, str]]:
    """(category, abstract) for each line of the sample's ``abstracts_noid.txt``."""
    lines = (hst_mini / "abstracts_noid.txt").read_text().splitlines()
    return [_CATEGORY.match(line).groups() for line in lines]


@dataclass
class Coverage:
    total: int = 0
    skipped: int = 0
    covered: int = 0
    missed: list[str] = field(default_factory=list)  # the abstracts' openings

    @property
    def share(self) -> float:
        return self.covered / (self.total - self.skipped) if self.total > self.skipped else 0.0


def coverage(abstracts: list[str]) -> Coverage:
    result = Coverage(total=len(abstracts))
    for abstract in abstracts:
        try:
            extract(abstract)
        except Unsummarisable:
            result.skipped += 1
        except NothingFound:
            result.missed.append(abstract[:80])
        else:
            result.covered += 1
    return result


@dataclass(frozen=True)
class Label:
    where: str  # "abstracts_noid.txt:12" or "manifest.jsonl:15513"
    abstract: str
    about: str
    accept: dict[str, list[str]]  # kind -> terms
    wrong: dict[str, str]  # term -> why a reader would reject it


class LabelDrift(ValueError):
    """A labelled abstract is not the one in the sample any more (the data was edited)."""


def load_labels(labels: Path, hst_mini: Path) -> list[Label]:
    lines = (hst_mini / "abstracts_noid.txt").read_text().splitlines()
    manifest = {
        str(r["proposal_id"]): r
        for r in map(json.loads, (hst_mini / "manifest.jsonl").read_text().splitlines())
        if r.get("abstract")
    }
    out = []
    for row in map(json.loads, labels.read_text().splitlines()):
        if row["file"] == "abstracts_noid.txt":
            where, raw = f"abstracts_noid.txt:{row['line']}", lines[row["line"]]
            abstract = _CATEGORY.match(raw).group(2)
        else:
            where, raw = f"manifest.jsonl:{row['proposal_id']}", manifest[row["proposal_id"]]["abstract"]
            abstract = raw
        if hashlib.sha256(raw.encode()).hexdigest() != row["sha256"]:
            raise LabelDrift(f"{where} is not the abstract that was labelled")
        out.append(Label(where, abstract, row["about"], row["accept"], row["wrong"]))
    return out


@dataclass
class Precision:
    accepted: int = 0
    wrong: list[str] = field(default_factory=list)  # "where: term (reason)"
    unlabelled: list[str] = field(default_factory=list)

    @property
    def terms(self) -> int:
        return self.accepted + len(self.wrong) + len(self.unlabelled)

    @property
    def share_wrong(self) -> float:
        return 1 - self.accepted / self.terms if self.terms else 0.0


def precision(labels: list[Label]) -> Precision:
    result = Precision()
    for label in labels:
        summary = extract(label.abstract)
        for kind, terms in (
            ("object", summary.objects_and_phenomena),
            ("use_case", summary.science_use_cases),
        ):
            for term in terms:
                if term in label.accept[kind]:
                    result.accepted += 1
                elif term in label.wrong:
                    result.wrong.append(f"{label.where}: {term} ({label.wrong[term]})")
                else:
                    result.unlabelled.append(f"{label.where}: {term} ({kind})")
    return result


def heldout_abstracts(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]
