"""Per-version metadata arrays: one value per indexed vector, row for row with ``ids.npy``.

Search filters become boolean masks over these arrays (then a FAISS bitmap selector) with no
database round trip per request. A column is declared once in ``COLUMNS``: the indexer writes
every declared column at build and add time, the service reads whatever columns a version holds.
Adding one (an observation date, an exposure time) is one ``Column`` entry.

Storage kinds:
- ``category``: text normalised (stripped, upper case) into int32 codes over a sorted dictionary,
  -1 for null; equality and substring matches run over the dictionary, then one table lookup;
- ``int``: int64, ``INT_NULL`` for null;
- ``float``: float64, NaN for null.

``sky_cell`` is the HEALPix nested index of (ra, dec) at order ``SKY_ORDER`` (29, the finest):
any coarser cell of order o is the contiguous range ``[c << 2(29-o), (c + 1) << 2(29-o))``, so a
sky-cell filter (or a cone covered by cells) is a range test on one int64 column.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from paperclip.schema import Observation, Proposal

META_DIR = "meta"
DICTIONARIES = "dictionaries.json"
SKY_ORDER = 29
INT_NULL = np.iinfo(np.int64).min
MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)
Kind = Literal["category", "int", "float"]


def sky_cells(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """HEALPix nested index at ``SKY_ORDER`` of each (ra, dec) in degrees; -1 where unknown."""
    import astropy.units as u
    from astropy_healpix import lonlat_to_healpix

    ra, dec = np.asarray(ra, np.float64), np.asarray(dec, np.float64)
    ok = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
    out = np.full(len(ra), -1, np.int64)
    if ok.any():
        cells = lonlat_to_healpix(np.mod(ra[ok], 360) * u.deg, dec[ok] * u.deg, 2**SKY_ORDER, order="nested")
        out[ok] = cells
    return out


@dataclass(frozen=True)
class Column:
    """One metadata column: read from the database (``source``) or derived from other columns."""

    name: str
    kind: Kind
    description: str
    source: Any = None  # a SQLAlchemy column of Observation or Proposal
    derive: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None


COLUMNS: tuple[Column, ...] = (
    Column("collection", "category", "archive collection (HST, JWST, SYNTH, ...)", Observation.collection),
    Column("instrument", "category", "instrument, e.g. ACS/WFC", Observation.instrument),
    Column("filter", "category", "filters as the archive lists them, e.g. F606W;F814W", Observation.filters),
    Column("target", "category", "target name", Observation.target),
    Column("proposal", "category", "the archive's proposal id", Proposal.proposal_id),
    Column("cycle", "int", "proposal cycle", Proposal.cycle),
    Column("proposal_pk", "int", "the proposal's database id (groups, full-text matches)", Proposal.id),
    Column("start", "float", "observation start, MJD (UTC)", Observation.start_time),
    Column("exposure", "float", "exposure time, seconds", Observation.exposure_s),
    Column("ra", "float", "right ascension, degrees", Observation.ra),
    Column("dec", "float", "declination, degrees", Observation.dec),
    Column(
        "sky_cell",
        "int",
        f"HEALPix nested index of (ra, dec) at order {SKY_ORDER}",
        derive=lambda c: sky_cells(c["ra"], c["dec"]),
    ),
)


def normalise(value: Any) -> str | None:
    """The form categories are stored and matched in: stripped, upper case; empty is null."""
    if value is None:
        return None
    text = str(value).strip().upper()
    return text or None


def _encode(values: list[Any]) -> tuple[np.ndarray, list[str]]:
    norm = [normalise(v) for v in values]
    dictionary = sorted({v for v in norm if v is not None})
    index = {v: i for i, v in enumerate(dictionary)}
    codes = np.fromiter((-1 if v is None else index[v] for v in norm), np.int32, len(norm))
    return codes, dictionary


def _float(value: Any) -> float:
    """Numbers as they are; datetimes as MJD (UTC; naive ones are UTC)."""
    if isinstance(value, datetime):
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return (utc - MJD_EPOCH).total_seconds() / 86400.0
    return float(value)


def _numeric(kind: Kind, values: list[Any]) -> np.ndarray:
    if kind == "float":
        return np.array([np.nan if v is None else _float(v) for v in values], np.float64)
    return np.array([INT_NULL if v is None else int(v) for v in values], np.int64)


@dataclass
class MetaTable:
    """The metadata arrays of one version, and the masks filters are built from."""

    columns: dict[str, np.ndarray]
    dictionaries: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def _codes_mask(self, name: str, matching: np.ndarray) -> np.ndarray:
        """Rows whose code is one of ``matching``: one lookup table, O(rows) whatever the count."""
        table = np.zeros(len(self.dictionaries[name]) + 1, bool)
        table[np.asarray(matching, np.int64) + 1] = True
        return table[self.columns[name].astype(np.int64) + 1]

    def equals(self, name: str, value: Any) -> np.ndarray:
        """Rows equal to ``value`` (categories compared case-insensitively)."""
        column = self.columns[name]
        if name in self.dictionaries:
            key = normalise(value)
            d = self.dictionaries[name]
            i = bisect.bisect_left(d, key) if key is not None else len(d)
            if i >= len(d) or d[i] != key:
                return np.zeros(len(column), bool)
            return column == i
        return column == value

    def contains(self, name: str, text: str) -> np.ndarray:
        """Rows of a category column holding ``text`` as a substring, case-insensitively."""
        needle = normalise(text) or ""
        matching = [i for i, value in enumerate(self.dictionaries[name]) if needle in value]
        return self._codes_mask(name, np.asarray(matching, np.int64))

    def between(self, name: str, low: float, high: float) -> np.ndarray:
        """Rows with ``low <= value < high`` (nulls never match)."""
        column = self.columns[name]
        return (column >= low) & (column < high) & (column != INT_NULL if column.dtype.kind == "i" else True)

    def sky_cell(self, order: int, cell: int) -> np.ndarray:
        """Rows inside HEALPix nested cell ``cell`` of ``order`` (an out-of-range cell holds nothing)."""
        if not 0 <= order <= SKY_ORDER or not 0 <= cell < 12 * 4**order:
            return np.zeros(len(self), bool)
        shift = 2 * (SKY_ORDER - order)
        return self.between("sky_cell", cell << shift, (cell + 1) << shift)


def from_rows(rows: dict[str, list[Any]], columns: tuple[Column, ...] = COLUMNS) -> MetaTable:
    """A table from raw values per sourced column (derived columns are computed here)."""
    arrays: dict[str, np.ndarray] = {}
    dictionaries: dict[str, list[str]] = {}
    for col in columns:
        if col.source is None:
            continue
        if col.kind == "category":
            arrays[col.name], dictionaries[col.name] = _encode(rows[col.name])
        else:
            arrays[col.name] = _numeric(col.kind, rows[col.name])
    for col in columns:
        if col.derive is not None:
            arrays[col.name] = col.derive(arrays)
    return MetaTable(arrays, dictionaries)


def read_from_db(session: Session, ids: np.ndarray, columns: tuple[Column, ...] = COLUMNS) -> MetaTable:
    """The metadata of ``ids`` (in their order) from the database; ids with no row get nulls."""
    sourced = [c for c in columns if c.source is not None]
    stmt = (
        select(Observation.id, *[c.source for c in sourced])
        .join(Proposal, Observation.proposal_pk == Proposal.id)
        .order_by(Observation.id)
        .execution_options(yield_per=50_000)
    )
    ids = np.asarray(ids, np.int64)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    rows: dict[str, list[Any]] = {c.name: [None] * len(ids) for c in sourced}
    for row in session.execute(stmt):
        i = int(np.searchsorted(sorted_ids, row[0]))
        if i < len(sorted_ids) and sorted_ids[i] == row[0]:
            position = int(order[i])
            for c, value in zip(sourced, row[1:], strict=True):
                rows[c.name][position] = value
    return from_rows(rows, columns)


def write_meta(folder: Path, table: MetaTable) -> list[str]:
    """Write the arrays under ``folder/meta``; returns their paths relative to ``folder``."""
    (folder / META_DIR).mkdir(parents=True, exist_ok=True)
    names = []
    for name, array in table.columns.items():
        np.save(folder / META_DIR / f"{name}.npy", array)
        names.append(f"{META_DIR}/{name}.npy")
    (folder / META_DIR / DICTIONARIES).write_text(json.dumps(table.dictionaries))
    return [*names, f"{META_DIR}/{DICTIONARIES}"]


def read_meta(folder: Path, columns: list[str]) -> MetaTable:
    dictionaries = json.loads((folder / META_DIR / DICTIONARIES).read_text())
    arrays = {name: np.load(folder / META_DIR / f"{name}.npy") for name in columns}
    return MetaTable(arrays, dictionaries)
