"""Property tests on the filters (user text matched against the metadata arrays read from the
database) and the import manifest's row parser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.filtered import Filters, mask
from indexer.harvest.importer import Row, parse_row
from paperclip.db import session_scope
from paperclip.index_meta import read_from_db
from paperclip.schema import Observation, Proposal

TARGETS = ["NGC 1300", "M_31", "50% off", "back\\slash", "ngc 1300 field", "Abell 2218", None]
FILTERS = ["F814W", "F606W;F814W", "F502N", "CLEAR1L;F435W", None]
INSTRUMENTS = ["ACS/WFC", "WFC3/UVIS", "acs/wfc", None]
# LIKE's own metacharacters and quotes, so escaping is what is tested
ALPHABET = st.sampled_from(list("NGCngc 1300M_%\\'\";-*/AWFabelFW8146"))


def _matching(url: str, rows: list[dict], f: Filters) -> set[int]:
    ids = np.array([r["id"] for r in rows], np.int64)
    with session_scope(url) as s:
        table = read_from_db(s, ids)
    return set(ids[mask(table, f)].tolist())


def _archive(url: str) -> list[dict]:
    rows = []
    with session_scope(url) as s:
        p = Proposal(collection="HST", proposal_id="12345", cycle=20)
        s.add(p)
        s.flush()
        for i in range(35):
            row = {
                "target": TARGETS[i % len(TARGETS)],
                "filters": FILTERS[i % len(FILTERS)],
                "instrument": INSTRUMENTS[i % len(INSTRUMENTS)],
            }
            obs = Observation(proposal_pk=p.id, collection="HST", obs_id=f"o{i}", **row)
            s.add(obs)
            s.flush()
            rows.append({"id": obs.id, **row})
    return rows


def _expected(rows: list[dict], f: Filters) -> set[int]:
    """Case-insensitive, surrounding blanks ignored; equal instrument, filter and target substrings."""

    def norm(value: str | None) -> str:
        return (value or "").strip().upper()

    def ok(r: dict) -> bool:
        if f.instrument and (r["instrument"] is None or norm(r["instrument"]) != norm(f.instrument)):
            return False
        if f.filter and (r["filters"] is None or norm(f.filter) not in norm(r["filters"])):
            return False
        return not (f.target and (r["target"] is None or norm(f.target) not in norm(r["target"])))

    return {r["id"] for r in rows if ok(r)}


def test_filters_match_a_plain_python_reference(db_url):
    rows = _archive(db_url)
    text = st.one_of(st.none(), st.text(ALPHABET, max_size=8), st.sampled_from([t for t in TARGETS if t]))

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        target=text,
        filt=st.one_of(st.none(), st.text(ALPHABET, max_size=6)),
        inst=st.sampled_from(INSTRUMENTS),
    )
    def check(target, filt, inst):
        f = Filters(instrument=inst, filter=filt or None, target=target or None)
        assert _matching(db_url, rows, f) == _expected(rows, f)

    check()


def test_filters_with_any_unicode_never_fail(db_url):
    rows = _archive(db_url)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
    def check(value):
        f = Filters(
            instrument=value or None, filter=value or None, proposal=value or None, target=value or None
        )
        assert len(_matching(db_url, rows, f)) <= 35

    check()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["image", "group", "text", "cycle", "ra", "dec", "start_time", "target", "label", "obs_id", "zzz"]
        ),
        JSON,
    )
)
def test_manifest_rows_parse_or_say_why(record):
    row = parse_row(Path("/data"), 7, record)
    assert isinstance(row, Row)
    if row.error is None:
        assert row.path is not None and row.path.is_absolute() and "group" in row.fields
        assert all(len(str(row.fields.get(k) or "")) <= 256 for k in ("target", "obs_id", "label"))
    else:
        assert "line 7" in str(row.error)
