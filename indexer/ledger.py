"""Unreadable previews in the job ledger: one row per preview with the reason, so a user can find
and fix them; the embedding and shard jobs both record them this way."""

from __future__ import annotations

from sqlalchemy.orm import Session

from paperclip.db import upsert
from paperclip.schema import LedgerEntry


def record_unreadable(session: Session, job: str, failed: dict[int, str]) -> None:
    if not failed:
        return
    rows = [
        {
            "job": job,
            "unit": str(i),
            "status": "failed",
            "attempts": 1,
            "last_error": e[:2000],
            "reason": "unreadable_preview",
        }
        for i, e in failed.items()
    ]
    upsert(session, LedgerEntry, rows, key=["job", "unit"], update=["status", "last_error", "reason"])
