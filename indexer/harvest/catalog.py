"""STScI's proposal abstracts catalogs (HST and JWST): plain text, records separated by dashed lines.

A record holds ``Key: value`` fields (Prop. Type, Category, ID, Cycle, Title, PI, Abstract, and
JWST's Program, Proposal Category, Scientific Category); values may continue on following
lines (titles sometimes, abstracts always). A cycle is read from ``23``, ``Cycle 1``, ``JWST
Cycle 2`` or ``Cycle 4 (2025)``. JWST puts the programme type (GO, GTO, ERS, DD, CAL, COM) in
``Proposal Category`` or ``Category`` and the science in ``Scientific Category``: a type goes
to ``prop_type`` and the science to ``category``. Real files mix encodings and end
mid-record, so reading never fails: records without a usable ID or abstract are counted by
reason and left out.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

FIELDS = {
    "prop. type": "prop_type",
    "prop type": "prop_type",
    "proposal type": "prop_type",
    "program type": "prop_type",
    "proposal category": "prop_type",
    "program category": "prop_type",
    "category": "category",
    "scientific category": "science",
    "science category": "science",
    "id": "proposal_id",
    "proposal id": "proposal_id",
    "program id": "proposal_id",
    "program": "proposal_id",
    "program number": "proposal_id",
    "proposal number": "proposal_id",
    "cycle": "cycle",
    "proposal cycle": "cycle",
    "title": "title",
    "program title": "title",
    "proposal title": "title",
    "pi": "pi",
    "pi name": "pi",
    "principal investigator": "pi",
    "abstract": "abstract",
    # metadata lines of JWST listings that are read and dropped, so they never join another field
    "investigators": "_dropped",
    "co-investigators": "_dropped",
    "co-is": "_dropped",
    "instrument": "_dropped",
    "instruments": "_dropped",
    "allocation": "_dropped",
    "exclusive access period": "_dropped",
    "proprietary period": "_dropped",
}
SEPARATOR = re.compile(r"^\s*[-=]{10,}\s*$")
# Longest names first, so "Proposal Category" is not read as "Category" nor "Program ID" as "Program".
FIELD = re.compile(
    r"^\s*(" + "|".join(re.escape(k) for k in sorted(FIELDS, key=len, reverse=True)) + r")\s*:\s?(.*)$",
    re.IGNORECASE,
)
CYCLE = re.compile(r"^(?:(?:HST|JWST)\s+)?(?:cycle\s*)?(\d{1,3})\b(?!\.\d)", re.IGNORECASE)
# Programme types, not science: GO, GTO, ERS, DD, SNAP, AR, CAL/ACS, ENG/WFC3, COM/NIRSpec, GO/DD, ...
PROGRAM_TYPE = re.compile(
    r"^(?:GO|GTO|ERS|DD|DDT|SNAP|AR|CAL|COM|ENG|SURVEY|LEGACY|TREASURY|MCT|NASA|ESA|CSA)"
    r"(?:\s*[/-]\s*[A-Za-z0-9]+)*$",
    re.IGNORECASE,
)


@dataclass
class Catalog:
    records: list[dict] = field(default_factory=list)  # proposal rows ready for ``save_proposals``
    problems: Counter = field(default_factory=Counter)  # records left out or repaired, by reason

    def lines(self) -> list[str]:
        out = [f"catalog: {len(self.records)} proposals"]
        out += [f"  {reason}: {n}" for reason, n in self.problems.most_common()]
        return out


def decode_text(data: bytes) -> str:
    """UTF-8 where it is, cp1252 (a superset of Latin-1 in practice) where it is not."""
    data = data.replace(b"\x00", b"")  # stray NULs: Postgres refuses them in text
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_catalog(text: str, collection: str = "HST") -> Catalog:
    catalog = Catalog()
    by_id: dict[str, dict] = {}
    blocks, ends_open = _blocks(text)
    for i, block in enumerate(blocks):
        record = _parse_block(block)
        if not record:
            continue
        problem = _check(record)
        if problem:
            catalog.problems[problem] += 1
            continue
        if ends_open and i == len(blocks) - 1 and not record["abstract"].endswith((".", "!", "?", ")", '"')):
            catalog.problems["truncated_abstract_kept"] += 1
        if record["proposal_id"] in by_id:
            catalog.problems["duplicate_id"] += 1
        raw_cycle = record.pop("cycle", None)
        record["cycle"] = parse_cycle(raw_cycle)
        if raw_cycle and record["cycle"] is None:
            catalog.problems["bad_cycle"] += 1
        by_id[record["proposal_id"]] = {"collection": collection, **record}
    catalog.records = list(by_id.values())
    return catalog


def _blocks(text: str) -> tuple[list[list[str]], bool]:
    """Non-empty records, and whether the text ends inside one (no closing separator)."""
    blocks, current = [], []
    for line in text.splitlines():
        if SEPARATOR.match(line):
            blocks.append(current)
            current = []
        else:
            current.append(line)
    ends_open = any(line.strip() for line in current)
    blocks.append(current)
    return [b for b in blocks if any(line.strip() for line in b)], ends_open


def parse_cycle(value: str | None) -> int | None:
    """``23``, ``Cycle 1``, ``JWST Cycle 2``, ``Cycle 4 (2025)`` -> the number; anything else -> None."""
    m = CYCLE.match((value or "").strip())
    return int(m.group(1)) if m else None


def _parse_block(lines: list[str]) -> dict[str, str]:
    values: dict[str, list[str]] = {}
    key = None
    for line in lines:
        m = FIELD.match(line)
        if m and key != "abstract":  # the abstract comes last and runs to the end of the record
            key = FIELDS[m.group(1).lower()]
            values.setdefault(key, []).append(m.group(2).strip())
        elif key is not None:
            values[key].append(line.strip())
    record = {k: " ".join(" ".join(v).split()) for k, v in values.items() if " ".join(v).strip()}
    record.pop("_dropped", None)
    category, science = record.pop("category", None), record.pop("science", None)
    if category and PROGRAM_TYPE.match(category):  # JWST: "Category: GO" is the programme type
        record.setdefault("prop_type", category)
        category = None
    if science or category:
        record["category"] = science or category
    return record


def _check(record: dict[str, str]) -> str | None:
    pid = record.get("proposal_id", "")
    if not pid:
        return "missing_id"
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", pid):
        return "bad_id"
    if not record.get("abstract"):
        return "missing_abstract"
    return None


class CatalogUnreadable(RuntimeError):
    pass


def read_catalog(source: str, timeout_s: float = 60.0, collection: str = "HST") -> Catalog:
    """Parse a local file or an http(s) URL."""
    try:
        if source.startswith(("http://", "https://")):
            import requests

            response = requests.get(source, timeout=timeout_s)
            response.raise_for_status()
            data = response.content
        else:
            data = Path(source).expanduser().read_bytes()
    except OSError as e:  # requests' errors are OSErrors too
        raise CatalogUnreadable(f"cannot read the abstracts catalog {source}: {e}") from e
    return parse_catalog(decode_text(data), collection)
