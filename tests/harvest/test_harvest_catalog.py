"""The abstracts catalog parser on the real format, real abstracts and broken records."""

from __future__ import annotations

import json

from sqlalchemy import select

from indexer.harvest.catalog import parse_catalog, read_catalog
from indexer.harvest.ingest import save_proposals
from paperclip.db import session_scope
from paperclip.schema import Proposal
from tests.harvest.conftest import catalog_text


def _real_abstracts(hst_mini) -> dict[str, dict]:
    rows = [json.loads(line) for line in (hst_mini / "manifest.jsonl").read_text().splitlines()]
    return {str(r["proposal_id"]): r for r in rows if r.get("abstract")}


def test_parses_real_records_and_counts_broken_ones(hst_mini, tmp_path):
    path = tmp_path / "abstracts.txt"
    path.write_bytes(catalog_text(hst_mini).encode("cp1252"))  # not UTF-8: the accents are single bytes
    catalog = read_catalog(str(path))
    real = _real_abstracts(hst_mini)
    by_id = {r["proposal_id"]: r for r in catalog.records}

    assert set(by_id) == set(real) | {"99002", "99003"}
    for pid, rec in real.items():
        got = by_id[pid]
        assert got["abstract"] == " ".join(rec["abstract"].split())  # wrapped lines rejoined
        assert got["cycle"] == int(rec["cycle"])
        assert got["title"] == f"Proposal {pid} a title that wraps"
        assert got["pi"] == "Jos\u00e9 Sm\u00edth"
        assert got["prop_type"] == "GO" and got["category"] == "STELLAR POPULATIONS"
    assert by_id["99002"]["cycle"] is None
    assert catalog.problems == {
        "missing_id": 1,
        "missing_abstract": 1,
        "bad_cycle": 1,
        "truncated_abstract_kept": 1,
    }
    assert any("missing_id: 1" in line for line in catalog.lines())


def test_garbage_never_crashes():
    for text in ("", "\x00\x01 not a catalog", "-" * 40, "ID: 5\nAbstract:", "ID: ../../etc\nAbstract: x"):
        catalog = parse_catalog(text)
        assert catalog.records == []
    assert parse_catalog("ID: ../../etc\nAbstract: x").problems == {"bad_id": 1}


def test_catalog_upsert_is_idempotent_and_keeps_known_fields(db_url, hst_mini):
    catalog = parse_catalog(catalog_text(hst_mini))
    with session_scope(db_url) as session:
        save_proposals(session, catalog.records)
        save_proposals(
            session, catalog.records + [{"collection": "HST", "proposal_id": "99002", "title": None}]
        )
    with session_scope(db_url) as session:
        rows = session.scalars(select(Proposal)).all()
        assert len(rows) == len(catalog.records)
        assert all(r.abstract and len(r.abstract_sha256) == 64 for r in rows)
        assert len({(r.collection, r.proposal_id) for r in rows}) == len(rows)
