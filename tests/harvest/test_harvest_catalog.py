"""The abstracts catalog parser on the real format, real abstracts and broken records."""

from __future__ import annotations

import json

from sqlalchemy import select

from indexer.harvest.catalog import parse_catalog, parse_cycle, read_catalog
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


def test_cycle_forms_and_jwst_categories():
    records = [
        "Prop. Type: GO\nCategory: STELLAR PHYSICS\nID: 9001\nCycle: Cycle 1\nTitle: One\nPI: A. B\n\nAbstract:\nOne.",
        "Program ID: 1345\nProgram Title: The CEERS Survey\nCycle: JWST Cycle 1\nProposal Category: ERS\n"
        "Scientific Category: Galaxies\nInvestigators: A. B, C. D\n  E. F\nAbstract:\nDeep NIRCam imaging.",
        "ID: 9003\nCycle:  23\nCategory: CAL/ACS\nAbstract: Bias frames are taken daily.",
        "Program: 2736\nCycle: Cycle 4 (2025)\nCategory: GO\nScientific Category: Stellar Physics and Stellar Types\n"
        "Abstract: Stars.",
        "ID: 9005\nCycle: 2025\nCategory: COM/NIRSpec\nAbstract: Shutters.",
        "ID: 9006\nCycle: HST Cycle 30\nCategory: Exoplanets and Exoplanet Formation\nAbstract: Planets.",
    ]
    catalog = parse_catalog(("-" * 40 + "\n").join(f"{r}\n" for r in records), collection="JWST")
    got = {r["proposal_id"]: r for r in catalog.records}
    assert {pid: r["cycle"] for pid, r in got.items()} == {
        "9001": 1,
        "1345": 1,
        "9003": 23,
        "2736": 4,
        "9005": None,  # a year is not a cycle
        "9006": 30,
    }
    assert catalog.problems == {"bad_cycle": 1}
    assert got["1345"]["title"] == "The CEERS Survey" and got["1345"]["abstract"] == "Deep NIRCam imaging."
    assert (got["1345"]["prop_type"], got["1345"]["category"]) == ("ERS", "Galaxies")
    assert (got["9003"]["prop_type"], got["9003"].get("category")) == ("CAL/ACS", None)
    assert (got["2736"]["prop_type"], got["2736"]["category"]) == ("GO", "Stellar Physics and Stellar Types")
    assert got["9005"]["prop_type"] == "COM/NIRSpec" and "category" not in got["9005"]
    assert got["9006"]["category"] == "Exoplanets and Exoplanet Formation"
    assert (got["9001"]["prop_type"], got["9001"]["category"]) == ("GO", "STELLAR PHYSICS")
    assert parse_cycle("Cycle 12") == 12 and parse_cycle("cycle12") == 12 and parse_cycle("JWST Cycle 2") == 2
    assert parse_cycle("twenty") is None and parse_cycle("2.5") is None and parse_cycle(None) is None
