"""STScI's HST proposal abstracts catalog: plain text, records separated by dashed lines.

A record holds ``Key: value`` fields (Prop. Type, Category, ID, Cycle, Title, PI, Abstract);
values may continue on following lines (titles sometimes, abstracts always). Real files mix
encodings and end mid-record, so reading never fails: records without a usable ID or
abstract are counted by reason and left out.
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
    "category": "category",
    "scientific category": "category",
    "id": "proposal_id",
    "proposal id": "proposal_id",
    "cycle": "cycle",
    "title": "title",
    "pi": "pi",
    "principal investigator": "pi",
    "abstract": "abstract",
}
SEPARATOR = re.compile(r"^\s*[-=]{10,}\s*$")
FIELD = re.compile(r"^\s*(" + "|".join(re.escape(k) for k in FIELDS) + r")\s*:\s?(.*)$", re.IGNORECASE)


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
        if "cycle" in record and not record["cycle"].isdigit():
            catalog.problems["bad_cycle"] += 1
        cycle = record.pop("cycle", "")
        record["cycle"] = int(cycle) if cycle.isdigit() else None
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
    return {k: " ".join(" ".join(v).split()) for k, v in values.items() if " ".join(v).strip()}


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
