"""Bring your own data: a folder of images plus a CSV or JSONL manifest, through the harvest's processing.

One row per image: ``image`` (relative to the manifest), ``group`` (proposal or any group sharing
one text), ``text`` (its abstract), and optional metadata. Every row ends as a ledger entry
(job ``import:<collection>``, unit = the image's absolute path), so a rerun skips what is done.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from indexer.harvest.ingest import (
    Ledger,
    StoredImage,
    image_store,
    save_observation,
    save_proposal,
    store_image,
)
from indexer.harvest.pool import bounded_map
from paperclip.config import get_settings
from paperclip.db import session_scope
from paperclip.imaging import ImageError

OPTIONAL_FLOATS = ("ra", "dec", "exposure_s")
MAX_LENGTHS = {  # the schema's column widths
    "group": 64,
    "obs_id": 128,
    "category": 128,
    "pi": 256,
    "instrument": 64,
    "filters": 128,
    "target": 256,
    "label": 128,
}
PROPOSAL_FIELDS = ("title", "category", "pi")
OBSERVATION_FIELDS = ("instrument", "filters", "target", "label")


class RowError(ValueError):
    def __init__(self, message: str, reason: str = "bad_row"):
        super().__init__(message)
        self.reason = reason


@dataclass
class ImportSummary:
    imported: int = 0
    skipped: int = 0  # done in an earlier run, or listed twice
    failed: int = 0
    failures: Counter = field(default_factory=Counter)  # by reason
    collection: str = "CUSTOM"

    def lines(self) -> list[str]:
        out = [
            f"collection {self.collection}: imported {self.imported}, skipped {self.skipped}, "
            f"failed {self.failed}"
        ]
        out += [f"  {reason}: {n}" for reason, n in self.failures.most_common()]
        return out


@dataclass(frozen=True)
class Row:
    unit: str
    line: int
    path: Path | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    error: RowError | None = None


def read_manifest(manifest: Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """(line number, raw row or the reason it cannot be read); JSONL unless the name ends in .csv."""
    if manifest.suffix.lower() == ".csv":
        with manifest.open(newline="", encoding="utf-8-sig", errors="replace") as f:
            for n, rec in enumerate(csv.DictReader(f), start=2):
                yield n, {k.strip(): v for k, v in rec.items() if k}
        return
    with manifest.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                yield n, RowError(f"line {n}: invalid JSON ({e.msg})")
                continue
            yield n, rec if isinstance(rec, dict) else RowError(f"line {n}: not a JSON object")


def parse_row(base: Path, n: int, rec: dict[str, Any] | RowError) -> Row:
    if isinstance(rec, RowError):
        return Row(unit=f"line:{n}", line=n, error=rec)
    clean = {k: (v.replace("\x00", "").strip() if isinstance(v, str) else v) for k, v in rec.items()}
    rec = {k: v for k, v in clean.items() if v not in (None, "")}  # stray NULs dropped: Postgres refuses them
    image = rec.get("image")
    if not isinstance(image, str):
        return Row(unit=f"line:{n}", line=n, error=RowError(f"line {n}: no 'image' path"))
    path = (base / image).resolve()
    try:
        if "group" not in rec:
            raise RowError(f"line {n}: no 'group'")
        fields = {"group": str(rec["group"]), "text": rec.get("text")}
        fields |= {k: str(rec[k]) for k in (*PROPOSAL_FIELDS, *OBSERVATION_FIELDS, "obs_id") if k in rec}
        for k, n_max in MAX_LENGTHS.items():
            if len(fields.get(k) or "") > n_max:
                raise RowError(f"line {n}: {k} is longer than {n_max} characters")
        if "cycle" in rec:
            fields["cycle"] = _number(rec["cycle"], int, "cycle", n)
        for k in OPTIONAL_FLOATS:
            if k in rec:
                fields[k] = _number(rec[k], float, k, n)
        if "start_time" in rec:
            fields["start_time"] = _datetime(rec["start_time"], n)
    except RowError as e:
        return Row(unit=str(path), line=n, path=path, error=e)
    return Row(unit=str(path), line=n, path=path, fields=fields)


def _number(value: Any, kind: type, name: str, n: int) -> Any:
    try:
        return kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError):
        raise RowError(f"line {n}: {name}={value!r} is not a number") from None


def _datetime(value: Any, n: int) -> datetime:
    try:
        dt = datetime.fromisoformat(str(value))
    except ValueError:
        raise RowError(f"line {n}: start_time={value!r} is not an ISO date") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def import_manifest(manifest: Path, collection: str = "CUSTOM", retry_failed: bool = False) -> ImportSummary:
    """Import every row of ``manifest`` not done yet; bad rows and bad images become ledger failures."""
    manifest = Path(manifest).resolve()
    if not manifest.is_file():
        raise FileNotFoundError(f"manifest not found: {manifest}")
    if not 0 < len(collection) <= 32:
        raise ValueError(f"collection name must be 1 to 32 characters: {collection!r}")
    settings = get_settings()
    store = image_store()
    ledger = Ledger(f"import:{collection}")
    summary = ImportSummary(collection=collection)

    rows, seen = [], set()
    for n, rec in read_manifest(manifest):
        row = parse_row(manifest.parent, n, rec)
        if row.unit in seen:
            summary.skipped += 1
            continue
        seen.add(row.unit)
        rows.append(row)
    with session_scope() as session:
        todo = set(ledger.todo(session, [r.unit for r in rows], retry_failed))
    summary.skipped += sum(r.unit not in todo for r in rows)
    rows = [r for r in rows if r.unit in todo]

    def process(row: Row) -> StoredImage:
        if row.error:
            raise row.error
        try:
            size = row.path.stat().st_size
        except OSError as e:
            raise RowError(f"line {row.line}: cannot read {row.path}: {e.strerror}", "missing_file") from None
        if size > settings.max_download_bytes:
            raise RowError(f"line {row.line}: {size} bytes is over max_download_bytes", "too_large")
        return store_image(row.path.read_bytes(), store, settings.max_image_pixels)

    for row, stored, error in tqdm(
        bounded_map(process, rows, settings.download_concurrency),
        total=len(rows),
        desc=f"import {collection}",
        unit="img",
    ):
        if error is None:
            try:
                with session_scope() as session:
                    _save(session, collection, row, stored)
                    ledger.mark(session, row.unit, "done")
                summary.imported += 1
                continue
            except SQLAlchemyError as e:  # a value the database refuses: this row fails, the rest go on
                error = RowError(
                    f"line {row.line}: the database refused the row: {getattr(e, 'orig', None) or e}",
                    "db_error",
                )
        reason = error.reason if isinstance(error, RowError | ImageError) else type(error).__name__
        with session_scope() as session:
            ledger.mark(session, row.unit, "failed", error=str(error), reason=reason)
        summary.failed += 1
        summary.failures[reason] += 1
    return summary


def _save(session, collection: str, row: Row, stored: StoredImage) -> int:
    f = row.fields
    proposal_pk = save_proposal(
        session,
        collection,
        f["group"],
        abstract=f.get("text"),
        cycle=f.get("cycle"),
        **{k: f.get(k) for k in PROPOSAL_FIELDS},
    )
    return save_observation(
        session,
        {
            "proposal_pk": proposal_pk,
            "collection": collection,
            "obs_id": f.get("obs_id") or f"sha256:{stored.sha256[:24]}",
            **{k: f.get(k) for k in (*OBSERVATION_FIELDS, *OPTIONAL_FLOATS, "start_time")},
            "product_filename": row.path.name,
            "original_path": stored.original_path,
            "local_path": stored.local_path,
            "sha256": stored.sha256,
            "width": stored.width,
            "height": stored.height,
        },
    )
