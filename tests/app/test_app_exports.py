"""Exports read back by the tools that consume them: astropy's VOTable parser, csv, json."""

from __future__ import annotations

import csv
import io

import astropy.units as u
import pytest
from astropy.io.votable import parse

from app.exports import COLUMNS, render

ROWS = [
    {
        "rank": 1,
        "score": 0.31,
        "z_score": 6.2,
        "percentile": 99.98,
        "distance": 1.5,
        "obs_id": "hst_15446_01_acs_wfc_total_jdxk01_drc",
        "obs_collection": "HST",
        "target_name": "NGC 1300",
        "s_ra": 49.92,
        "s_dec": -19.41,
        "t_min": 60023.5,
        "t_start": "2023-03-20T12:00:00Z",
        "t_exptime": 1200.0,
        "instrument_name": "ACS/WFC",
        "filters": "F814W",
        "proposal_id": "15446",
        "proposal_title": "Bars, dust & “quotes” <and> é",
        "proposal_pi": "A. Astronomer",
        "cycle": 25,
        "preview_url": "http://127.0.0.1/api/v1/previews/1",
        "page_url": "http://127.0.0.1/observations/1",
        "mast_url": None,
    },
    {"rank": 2, "obs_id": "b", "obs_collection": "SYNTH", "s_ra": float("nan")},
]


def test_votable_has_units_ucds_and_systems():
    body, media, ext = render("votable", ROWS, {"query": "barred spirals", "index_version": 3})
    assert media == "application/x-votable+xml" and ext == "vot"
    vot = parse(io.BytesIO(body), verify="exception")  # any VOTable warning fails the test
    table = vot.get_first_table()
    fields = {f.name: f for f in table.fields}
    assert [f.name for f in table.fields] == [c.name for c in COLUMNS]
    assert fields["s_ra"].ucd == "pos.eq.ra;meta.main" and fields["s_dec"].ucd == "pos.eq.dec;meta.main"
    assert fields["t_min"].ucd == "time.start;obs.exposure" and fields["t_exptime"].unit == u.s
    assert fields["s_ra"].unit == u.deg and fields["distance"].unit == u.arcmin
    assert fields["s_ra"].ref == "icrs" and fields["t_min"].ref == "utc"
    assert vot.resources[0].coordinate_systems[0].system == "ICRS"
    assert vot.resources[0].time_systems[0].timescale == "UTC"
    infos = {i.name: i.value for i in vot.resources[0].infos}
    assert infos["QUERY_STATUS"] == "OK" and infos["query"] == "barred spirals"
    t = table.to_table(use_names_over_ids=True)
    assert t["s_ra"].unit == u.deg and t["s_ra"][0] == pytest.approx(49.92)
    assert t["proposal_title"][0] == ROWS[0]["proposal_title"] and t["cycle"][0] == 25
    assert t["s_ra"].mask[1] and t["cycle"].mask[1] and t["obs_id"][1] == "b"


def test_csv_holds_the_same_rows():
    body, media, _ = render("csv", ROWS, {})
    lines = body.decode().splitlines()
    assert lines[0].startswith("# units:") and "s_ra=deg" in lines[0] and media.startswith("text/csv")
    rows = list(csv.DictReader(lines[1:]))
    assert rows[0]["proposal_title"] == ROWS[0]["proposal_title"] and rows[1]["s_ra"] == ""
