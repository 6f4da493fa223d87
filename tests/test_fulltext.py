"""Full-text search over proposals on both databases: triggers keep it in step with every write."""

from __future__ import annotations

from sqlalchemy import delete, func, select, text, update

from indexer.harvest.ingest import save_observation, save_proposal
from paperclip.db import get_engine, session_scope
from paperclip.fulltext import search_proposals, terms
from paperclip.schema import Caption, Observation, Proposal


def found(db_url: str, query: str) -> list[int]:
    with session_scope(db_url) as s:
        return [pk for pk, _ in search_proposals(s, query, 10)]


def documents(db_url: str) -> int:
    with get_engine(db_url).connect() as conn:
        return conn.execute(text("SELECT count(*) FROM proposal_text")).scalar_one()


def test_every_write_reaches_the_text_index(db_url):
    with session_scope(db_url) as s:
        a = save_proposal(
            s, "HST", "15446", title="Strong lensing by galaxy clusters", abstract="Arcs and rings."
        )
        b = save_proposal(
            s, "HST", "16000", title="Comets", abstract="Cometary nuclei seen by the lensing team."
        )
    assert found(db_url, "lensing") == [a, b]  # the title outranks the abstract
    assert found(db_url, "rings") == [a] and found(db_url, "comets nuclei") == [b, a][:1]

    with session_scope(db_url) as s:  # summaries: added, failed, removed
        s.add(Caption(proposal_pk=b, kind="summary", generator="llm", text="coma; outgassing"))
        s.add(Caption(proposal_pk=a, kind="raw", generator="raw", text="Category: X. outgassing"))
    assert found(db_url, "outgassing") == [b]
    with session_scope(db_url) as s:
        s.execute(update(Caption).where(Caption.kind == "summary").values(status="failed"))
    assert found(db_url, "outgassing") == []
    with session_scope(db_url) as s:
        s.execute(update(Caption).where(Caption.kind == "summary").values(status="ok"))
    assert found(db_url, "outgassing") == [b]
    with session_scope(db_url) as s:
        s.execute(delete(Caption).where(Caption.kind == "summary"))
    assert found(db_url, "outgassing") == []

    with session_scope(db_url) as s:  # targets: two observations of one, then one left, then none
        for n in (1, 2):
            save_observation(
                s, {"proposal_pk": a, "collection": "HST", "obs_id": f"x{n}", "target": "ABELL-2744"}
            )
    assert found(db_url, "abell 2744") == [a]
    with session_scope(db_url) as s:
        s.execute(delete(Observation).where(Observation.obs_id == "x1"))
    assert found(db_url, "2744") == [a]
    with session_scope(db_url) as s:  # an upsert that moves the target
        save_observation(s, {"proposal_pk": a, "collection": "HST", "obs_id": "x2", "target": "MACS0416"})
    assert found(db_url, "2744") == [] and found(db_url, "MACS0416") == [a]

    with session_scope(db_url) as s:  # the catalog upsert rewrites the title
        save_proposal(s, "HST", "15446", title="Einstein rings")
    assert found(db_url, "galaxy clusters") == [] and found(db_url, "einstein") == [a]
    with session_scope(db_url) as s:
        s.execute(delete(Proposal).where(Proposal.id == b))
    assert found(db_url, "comets") == [] and documents(db_url) == 1


def test_queries_are_words_never_syntax(db_url):
    with session_scope(db_url) as s:
        pk = save_proposal(s, "HST", "1", title="Jupiter aurora", abstract="Ultraviolet imaging.")
    for query in ('"jupiter', "jupiter:* & !x", "aurora OR NOT", "jupiter' --", "(aurora", "NEAR(a b)", "*"):
        assert found(db_url, query) in ([pk], []), query
    assert found(db_url, "the of and") == [] and found(db_url, "") == []
    assert terms("Jupiter, jupiter & AURORA!") == ["jupiter", "aurora"]


def test_ranking_prefers_more_matching_words(db_url):
    with session_scope(db_url) as s:
        one = save_proposal(s, "HST", "1", title="Barred spiral galaxies", abstract="Bars drive gas inward.")
        two = save_proposal(s, "HST", "2", title="Spiral arms", abstract="Density waves.")
        three = save_proposal(s, "HST", "3", title="Dust lanes in barred spiral galaxies", abstract="Dust.")
        assert s.scalar(select(func.count()).select_from(Proposal)) == 3
    assert found(db_url, "barred spiral galaxy with dust lanes")[:2] == [three, one]
    assert two in found(db_url, "barred spiral galaxy with dust lanes")
