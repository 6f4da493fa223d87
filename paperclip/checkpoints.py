"""Checkpoint rows: a name with immutable versions.

Training under an existing name adds version N+1 in a new folder ``checkpoints/<name>/v<N>``;
nothing already written is ever replaced. A reference ``name`` means its newest version,
``name@vN`` (or ``name@N``) one version, and a folder path the row registered for it.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperclip.schema import Checkpoint

_VERSIONED = re.compile(r"^(?P<name>.+)@v?(?P<version>\d+)$")


def split_ref(ref: str) -> tuple[str, int | None]:
    """``name@v3`` -> (name, 3); ``name`` -> (name, None)."""
    match = _VERSIONED.match(ref.strip())
    return (match["name"], int(match["version"])) if match else (ref.strip(), None)


def find_checkpoint(session: Session, ref: str) -> Checkpoint | None:
    """The row a reference names: a name (newest version), ``name@vN``, or a registered folder."""
    name, version = split_ref(ref)
    query = select(Checkpoint).where(Checkpoint.name == name)
    query = (
        query.where(Checkpoint.version == version) if version else query.order_by(Checkpoint.version.desc())
    )
    row = session.scalars(query.limit(1)).first()
    if row is None and Path(ref).expanduser().is_dir():
        path = str(Path(ref).expanduser().resolve())
        row = session.scalars(select(Checkpoint).where(Checkpoint.path == path).limit(1)).first()
    return row


def next_version(session: Session, name: str, folder: Path) -> int:
    """One more than any version of ``name`` in the table or on disk (``folder/v<N>``), so a
    crash between writing a folder and registering it never leads to reusing its number."""
    in_db = session.scalar(select(func.max(Checkpoint.version)).where(Checkpoint.name == name)) or 0
    on_disk = [int(p.name[1:]) for p in folder.glob("v*") if p.is_dir() and p.name[1:].isdigit()]
    return max([in_db, *on_disk]) + 1


def label(row: Checkpoint) -> str:
    return f"{row.name}@v{row.version}"
