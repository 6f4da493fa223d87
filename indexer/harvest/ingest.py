"""The one path every image takes into the archive (harvest and import alike), and the one place
this layer writes to the database.

Bytes are sniffed and decoded by ``paperclip.imaging``; the original is kept as served and the
paper's 512 px white-padded square is stored beside it, both content-addressed, so a rerun
writes the same files and never a second copy. Database writes are upserts keyed on
natural keys, so a crash between a file write and its commit resumes without duplicates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperclip.db import upsert
from paperclip.imaging import decode, encode_jpeg, sniff, to_preview
from paperclip.schema import LedgerEntry, Observation, Proposal
from paperclip.sky import healpix_of
from paperclip.storage import ImageStore, atomic_write, get_paths

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "FITS": "fits"}


@dataclass(frozen=True)
class StoredImage:
    original_path: str  # relative to the image store
    local_path: str  # the 512 px preview, relative to the image store
    sha256: str  # of the original bytes
    width: int
    height: int


def image_store() -> ImageStore:
    return ImageStore(get_paths().ensure().images)


def store_image(data: bytes, store: ImageStore, max_pixels: int) -> StoredImage:
    """Decode, keep the original, write the preview; raises ``ImageError`` for bad input.

    The preview's path is derived from the original's digest, so it is fixed by the input.
    """
    kind = sniff(data)
    img = decode(data, max_pixels)
    width, height = img.size
    original_path, digest = store.put(data, "original", EXTENSIONS[kind.format])
    local_path = store.relpath(digest, "preview", "jpg")
    if not (store.root / local_path).exists():
        atomic_write(store.root / local_path, encode_jpeg(to_preview(img)))
    return StoredImage(original_path, local_path, digest, width, height)


def text_sha256(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text else None


def save_proposal(session: Session, collection: str, proposal_id: str, **fields: Any) -> int:
    """Insert or update one proposal; fields left ``None`` never erase what is stored."""
    values = {k: v for k, v in fields.items() if v is not None}
    if "abstract" in values:
        values["abstract_sha256"] = text_sha256(values["abstract"])
    row = {"collection": collection, "proposal_id": str(proposal_id), **values}
    upsert(session, Proposal, [row], key=["collection", "proposal_id"], update=list(values) or None)
    return session.scalars(
        select(Proposal.id).where(Proposal.collection == collection, Proposal.proposal_id == str(proposal_id))
    ).one()


def save_proposals(session: Session, rows: list[dict[str, Any]], chunk: int = 500) -> None:
    """Bulk upsert of catalog records (each with collection and proposal_id), same rule as above."""
    latest = {(r["collection"], str(r["proposal_id"])): r for r in rows}  # one row per key per statement
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in latest.values():
        values = {k: v for k, v in row.items() if v is not None}
        if "abstract" in values:
            values["abstract_sha256"] = text_sha256(values["abstract"])
        values["proposal_id"] = str(values["proposal_id"])
        groups.setdefault(frozenset(values), []).append(values)
    for keys, group in groups.items():
        update = [k for k in keys if k not in ("collection", "proposal_id")] or None
        for i in range(0, len(group), chunk):
            upsert(session, Proposal, group[i : i + chunk], key=["collection", "proposal_id"], update=update)


def save_observation(session: Session, row: dict[str, Any]) -> int:
    """Insert or update one observation keyed on (collection, obs_id); returns its id (the FAISS id).

    Its HEALPix cell is derived here from (ra, dec), so every path into the archive stores it."""
    row = {**row, "healpix": healpix_of(row.get("ra"), row.get("dec"))}
    upsert(session, Observation, [row], key=["collection", "obs_id"])
    return session.scalars(
        select(Observation.id).where(
            Observation.collection == row["collection"], Observation.obs_id == row["obs_id"]
        )
    ).one()


class Ledger:
    """Per-unit status of one job (``harvest_ledger``), so a rerun knows what is left."""

    def __init__(self, job: str):
        self.job = job

    def statuses(self, session: Session) -> dict[str, str]:
        q = select(LedgerEntry.unit, LedgerEntry.status).where(LedgerEntry.job == self.job)
        return dict(session.execute(q).tuples().all())

    def mark(
        self,
        session: Session,
        unit: str,
        status: str,
        error: str | None = None,
        reason: str | None = None,
        attempts: int = 1,
    ) -> None:
        """Record the outcome of ``attempts`` tries (0 for a unit only queued or skipped)."""
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.job == self.job, LedgerEntry.unit == unit)
        ).one_or_none()
        if entry is None:
            entry = LedgerEntry(job=self.job, unit=unit, attempts=0)
            session.add(entry)
        entry.status = status
        entry.attempts += attempts
        entry.last_error = error[:2000] if error else None
        entry.reason = reason
        session.flush()

    def todo(self, session: Session, units: list[str], retry_failed: bool) -> list[str]:
        known = self.statuses(session)
        return [u for u in units if unfinished(known.get(u), retry_failed)]


def unfinished(status: str | None, retry_failed: bool) -> bool:
    """Whether a unit still needs work: new or pending, or failed when retrying."""
    return status in (None, "pending") or (status == "failed" and retry_failed)
