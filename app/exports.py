"""A result set as a file for VO tools and spreadsheets: VOTable and CSV with the same columns (JSON is
the API's own page).

Column names follow IVOA ObsCore where one exists (``obs_id``, ``s_ra``, ``t_min``, ...), every
column carries its unit and UCD, and the VOTable declares its coordinate system (ICRS) and time
system (UTC, MJD), so TOPCAT and Aladin plot and match the table without being told anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FORMATS = {
    "votable": ("application/x-votable+xml", "vot"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # int | float | str
    ucd: str | None
    unit: str | None
    description: str
    xtype: str | None = None


COLUMNS: tuple[Column, ...] = (
    Column("rank", "int", "meta.number", None, "Rank in this result set, from 1"),
    Column("score", "float", "stat.correlation", None, "Cosine similarity of the query and the preview"),
    Column(
        "z_score",
        "float",
        "stat.snr",
        None,
        "Standard deviations above this query's mean score over the whole index",
    ),
    Column("percentile", "float", "stat.value", None, "Per cent of the index scoring below this hit"),
    Column("distance", "float", "pos.angDistance", "arcmin", "Distance from the search position"),
    Column("obs_id", "str", "meta.id;meta.main", None, "Observation id in the archive (MAST obs_id)"),
    Column("obs_collection", "str", "meta.id", None, "Collection: HST, JWST, ..."),
    Column("target_name", "str", "meta.id;src", None, "Target name as given by the observer"),
    Column("s_ra", "float", "pos.eq.ra;meta.main", "deg", "Right ascension (ICRS)"),
    Column("s_dec", "float", "pos.eq.dec;meta.main", "deg", "Declination (ICRS)"),
    Column("t_min", "float", "time.start;obs.exposure", "d", "Start of the observation (MJD, UTC)", "mjd"),
    Column(
        "t_start",
        "str",
        "time.start;obs.exposure",
        None,
        "Start of the observation (ISO 8601, UTC)",
        "timestamp",
    ),
    Column("t_exptime", "float", "time.duration;obs.exposure", "s", "Exposure time"),
    Column("instrument_name", "str", "meta.id;instr", None, "Instrument and detector"),
    Column("filters", "str", "meta.id;instr.filter", None, "Filters (bandpasses)"),
    Column("proposal_id", "str", "meta.id;obs.proposal", None, "Proposal (program) number"),
    Column("proposal_title", "str", "meta.title;obs.proposal", None, "Proposal title"),
    Column("proposal_pi", "str", "meta.id.PI", None, "Principal investigator"),
    Column("cycle", "int", "meta.code;obs.proposal", None, "Proposal cycle"),
    Column("preview_url", "str", "meta.ref.url;meta.preview", None, "Preview image"),
    Column("page_url", "str", "meta.ref.url", None, "This observation in the search service"),
    Column("mast_url", "str", "meta.ref.url", None, "This observation in the MAST Portal"),
)


def _value(row: Mapping[str, Any], c: Column) -> Any:
    v = row.get(c.name)
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return None
    return v


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column] = COLUMNS) -> bytes:
    """Header row of names, then values; empty cells for missing values; units in a comment line."""
    buf = io.StringIO()
    buf.write("# units: " + ", ".join(f"{c.name}={c.unit}" for c in columns if c.unit) + "\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for row in rows:
        writer.writerow(["" if (v := _value(row, c)) is None else v for c in columns])
    return buf.getvalue().encode()


def to_votable(
    rows: Sequence[Mapping[str, Any]], info: Mapping[str, Any], columns: Sequence[Column] = COLUMNS
) -> bytes:
    """VOTable 1.4 (TABLEDATA): FIELDs with units, UCDs and descriptions, ICRS COOSYS, UTC TIMESYS."""
    from astropy.io.votable.tree import CooSys, Field, Info, Resource, TableElement, TimeSys, VOTableFile

    vot = VOTableFile(version="1.4")
    resource = Resource(type="results")
    vot.resources.append(resource)
    resource.infos.append(Info(name="QUERY_STATUS", value="OK"))
    for key, value in info.items():
        if value is not None:
            resource.infos.append(Info(name=str(key), value=str(value)))
    resource.coordinate_systems.append(CooSys(ID="icrs", system="ICRS"))
    resource.time_systems.append(
        TimeSys(
            ID="utc",
            timeorigin="MJD-origin",
            timescale="UTC",
            refposition="TOPOCENTER",
            config={"version": vot.version, "version_1_4_or_later": True},
        )
    )
    table = TableElement(vot, name="results")
    resource.tables.append(table)
    kinds = {"int": ("long", None), "float": ("double", None), "str": ("unicodeChar", "*")}
    for c in columns:
        datatype, arraysize = kinds[c.kind]
        field = Field(
            vot,
            name=c.name,
            ID=c.name,
            datatype=datatype,
            arraysize=arraysize,
            ucd=c.ucd,
            unit=c.unit,
            xtype=c.xtype if c.xtype != "mjd" else None,
        )
        field.description = c.description
        if c.name in ("s_ra", "s_dec"):
            field.ref = "icrs"
        if c.name == "t_min":
            field.ref = "utc"
        table.fields.append(field)
    table.create_arrays(len(rows))
    for i, row in enumerate(rows):
        values, mask = [], []
        for c in columns:
            v = _value(row, c)
            mask.append(v is None)
            values.append(({"int": 0, "float": np.nan, "str": ""}[c.kind]) if v is None else v)
        table.array[i] = tuple(values)
        table.array.mask[i] = tuple(mask)
    buf = io.BytesIO()
    vot.to_xml(buf)
    return buf.getvalue()


def render(fmt: str, rows: Sequence[Mapping[str, Any]], info: Mapping[str, Any]) -> tuple[bytes, str, str]:
    """(body, media type, file extension) of one export format."""
    media_type, ext = FORMATS[fmt]
    if fmt == "csv":
        return to_csv(rows), media_type, ext
    return to_votable(rows, info), media_type, ext


def rows_from_page(page, base_url: str) -> list[dict[str, Any]]:
    """A search page's hits (and, grouped, the hits under them) as export rows, in rank order."""
    from paperclip.obstime import as_utc

    base = base_url.rstrip("/")
    hits = sorted((h for top in page.results for h in (top, *top.more)), key=lambda h: h.rank)
    rows = []
    for h in hits:
        o, p = h.observation, h.proposal
        rows.append(
            {
                "rank": h.rank,
                "score": h.score,
                "z_score": h.z_score,
                "percentile": h.percentile,
                "distance": h.distance_arcmin,
                "obs_id": o.mast_obs_id or o.obs_id,
                "obs_collection": o.collection,
                "target_name": o.target,
                "s_ra": o.ra,
                "s_dec": o.dec,
                "t_min": o.start_mjd,
                "t_start": as_utc(o.start_time).strftime("%Y-%m-%dT%H:%M:%SZ") if o.start_time else None,
                "t_exptime": o.exposure_s,
                "instrument_name": o.instrument,
                "filters": o.filters,
                "proposal_id": p.proposal_id,
                "proposal_title": p.title,
                "proposal_pi": p.pi,
                "cycle": p.cycle,
                "preview_url": base + o.preview_url,
                "page_url": base + o.page_url,
                "mast_url": o.mast_url,
            }
        )
    return rows
