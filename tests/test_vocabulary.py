from __future__ import annotations

from sqlalchemy import func, select

from paperclip.db import session_scope
from paperclip.schema import VocabularyTerm
from paperclip.vocabulary import load_vocabulary, seed_vocabulary


def test_paper_categories_present():
    paper = [t for t in load_vocabulary() if t.source == "paper"]
    assert len(paper) == 77
    assert {"Einstein rings", "planetary nebulae", "dwarf galaxies"} <= {t.text for t in paper}


def test_seed_is_idempotent(db_url):
    with session_scope(db_url) as s:
        n = seed_vocabulary(s)
        seed_vocabulary(s)
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count()).select_from(VocabularyTerm)) == n
