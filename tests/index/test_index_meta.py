"""Metadata arrays beside every version: written at build and add, row for row with ids.npy, checksummed,
read afresh from the database at every add; HEALPix sky cells; the matching the service's filters use."""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy_healpix import lonlat_to_healpix
from sqlalchemy import update

from indexer.index.versions import add, build
from paperclip.db import session_scope
from paperclip.index_files import IndexCorrupt, read_index_files
from paperclip.index_meta import COLUMNS, SKY_ORDER, from_rows, read_from_db, sky_cells
from paperclip.schema import Observation, Proposal

RA = [10.68, 83.82, 201.37, None, 359.9, 0.0]
DEC = [41.27, -5.39, -43.02, 12.0, -89.5, 0.0]


def describe(ids: list[int]) -> None:
    with session_scope() as s:
        s.execute(update(Proposal).values(cycle=25))
        for n, i in enumerate(ids):
            s.execute(
                update(Observation)
                .where(Observation.id == i)
                .values(
                    instrument=["ACS/WFC", "wfc3/uvis ", None][n % 3],
                    filters=["F606W;F814W", "F814W", "F502N"][n % 3],
                    target=f"NGC {1000 + n}",
                    ra=RA[n % len(RA)],
                    dec=DEC[n % len(DEC)],
                )
            )


def test_build_and_add_write_metadata_row_for_row_with_the_ids(observations, tiny_model):
    ids = observations(6)
    describe(ids)
    v1 = build("tiny", kind="flat", progress=False)
    files = read_index_files(v1.path)
    table = files.metadata
    assert table is not None and set(files.manifest["meta_columns"]) >= {"instrument", "cycle", "sky_cell"}
    assert all(name.startswith("meta/") for name in files.manifest["files"] if "meta" in name)
    position = {int(i): p for p, i in enumerate(files.ids)}
    for n, i in enumerate(ids):
        p = position[i]
        code = table.columns["instrument"][p]
        assert (table.dictionaries["instrument"][code] if code >= 0 else None) == [
            "ACS/WFC",
            "WFC3/UVIS",
            None,
        ][n % 3]
        assert table.columns["cycle"][p] == 25
        assert table.dictionaries["collection"][table.columns["collection"][p]] == "TEST"
    np.testing.assert_array_equal(table.equals("instrument", "wfc3/UVIS"), np.isin(files.ids, ids[1::3]))
    np.testing.assert_array_equal(table.contains("filter", "f814"), np.isin(files.ids, ids[0::3] + ids[1::3]))
    assert not table.equals("instrument", "NICMOS").any() and not table.equals("cycle", 7).any()

    with session_scope() as s:  # metadata edited in the database after the build
        s.execute(update(Observation).where(Observation.id == ids[2]).values(instrument="STIS"))
    new = observations(2, offset=50)
    v2 = add(progress=False)
    files2 = read_index_files(v2.path)
    assert sorted(files2.ids.tolist()) == sorted(ids + new) and len(files2.metadata) == len(files2.ids)
    stis = files2.metadata.equals("instrument", "stis")
    assert files2.ids[stis].tolist() == [ids[2]]
    with session_scope() as s:  # the same table, read by the service for a version without arrays
        legacy = read_from_db(s, files2.ids)
    for name, column in files2.metadata.columns.items():
        np.testing.assert_array_equal(legacy.columns[name], column)

    with (v2.path / "meta" / "instrument.npy").open("r+b") as f:  # checksummed like every other file
        f.seek(-4, 2)
        f.write(b"\xff\xff\xff\x7f")
    with pytest.raises(IndexCorrupt, match="instrument"):
        read_index_files(Path(v2.path))


def test_sky_cells_are_healpix_nested_and_nest_by_order():
    ra = np.array([r if r is not None else np.nan for r in RA])
    dec = np.array(DEC)
    cells = sky_cells(ra, dec)
    assert cells[3] == -1  # unknown position
    known = np.isfinite(ra)
    for order in (0, 4, 9, SKY_ORDER):
        expected = lonlat_to_healpix(ra[known] * u.deg, dec[known] * u.deg, 2**order, order="nested")
        np.testing.assert_array_equal(cells[known] >> (2 * (SKY_ORDER - order)), expected)
    rows = {c.name: [None] * len(RA) for c in COLUMNS if c.source is not None and c.name not in ("ra", "dec")}
    table = from_rows(rows | {"ra": RA, "dec": DEC})
    m31 = int(lonlat_to_healpix(10.68 * u.deg, 41.27 * u.deg, 2**6, order="nested"))
    assert table.sky_cell(6, m31).tolist() == [True, False, False, False, False, False]
    assert table.sky_cell(0, 12 * 4**0).sum() == 0 and table.sky_cell(30, 0).sum() == 0  # no such cell
    assert table.sky_cell(0, int(cells[0] >> (2 * SKY_ORDER))).sum() >= 1
