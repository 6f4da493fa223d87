from __future__ import annotations

import pytest
from sqlalchemy import func, select

from paperclip import vocabulary
from paperclip.db import session_scope
from paperclip.schema import VocabularyTerm
from paperclip.vocabulary import OTHER_KIND, VocabularyError, load_vocabulary, seed_vocabulary


def test_paper_categories_present():
    paper = [t for t in load_vocabulary() if t.source == "paper"]
    assert len(paper) == 77
    assert {"Einstein rings", "planetary nebulae", "dwarf galaxies"} <= {t.text for t in paper}


def test_curated_terms_keep_their_source_and_cover_real_programmes():
    terms = {t.text: t for t in load_vocabulary()}
    assert {t.source for t in terms.values()} == {"paper", "curated"}
    for text in (
        "dark frames",
        "bias frames",
        "flat field exposures",
        "sky background",
        "micro-shutter assembly",
        "centaurs",
        "polluted white dwarfs",
        "dark current calibration",
        "detector persistence",
        "geometric distortion calibration",
        "target acquisition",
        "photometric calibration",
        "wavelength calibration",
        "charge transfer efficiency calibration",
        "volcanism and plume activity",
        "cometary activity",
        "neutron star equation of state",
        "dust formation and destruction",
    ):
        assert terms[text].source == "curated", text
    assert "Europa" in terms["planetary moons"].names and "SN 1987A" in terms["supernova remnants"].names
    for t in terms.values():  # an implied term is of the other kind and exists
        assert t.implies is None or terms[t.implies].kind == OTHER_KIND[t.kind]


def test_the_version_2_format_still_loads(monkeypatch):
    """Readers that know only text, synonyms and source keep working; the new fields are optional."""
    raw = {
        "version": 2,
        "objects": [{"text": "comets", "synonyms": ["comet"], "source": "paper"}],
        "use_cases": [{"text": "cometary activity", "synonyms": ["outgassing"]}],
    }
    monkeypatch.setattr(vocabulary, "_raw", lambda: raw)
    load_vocabulary.cache_clear()
    try:
        comets, activity = load_vocabulary()
        assert (comets.text, comets.kind, comets.source, comets.synonyms) == (
            "comets",
            "object",
            "paper",
            ("comet",),
        )
        assert (activity.source, comets.names, comets.senses, comets.implies) == ("curated", (), (), None)
        raw["objects"][0]["senses"] = [{"phrases": ["tail"], "near": ["@nowhere"]}]
        load_vocabulary.cache_clear()
        with pytest.raises(VocabularyError, match="unknown context '@nowhere'"):
            load_vocabulary()
        raw["objects"][0]["senses"] = []
        raw["objects"][0]["patterns"] = ["(unclosed"]
        load_vocabulary.cache_clear()
        with pytest.raises(VocabularyError, match="bad pattern"):
            load_vocabulary()
        raw["objects"][0]["patterns"] = []
        raw["objects"][0]["implies"] = "no such use case"
        load_vocabulary.cache_clear()
        with pytest.raises(VocabularyError, match="implies unknown use_case"):
            load_vocabulary()
    finally:
        load_vocabulary.cache_clear()


def test_seed_is_idempotent(db_url):
    with session_scope(db_url) as s:
        n = seed_vocabulary(s)
        seed_vocabulary(s)
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count()).select_from(VocabularyTerm)) == n
