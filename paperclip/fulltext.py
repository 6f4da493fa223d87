"""Full-text search over proposals (title, targets, summaries, abstract) on either database.

Postgres ranks a tsvector under a GIN index with ``ts_rank_cd``; SQLite ranks its FTS5 table with
BM25. Both get the query as the OR of its words, so a long plain-language query still matches
proposals that share only some of its words, ranked by how many and how rare. The table and
the triggers that keep it in step are in migration 0005 (see ``paperclip.schema``).
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_TERMS = 32
_WORD = re.compile(r"\w+", re.UNICODE)
# BM25 column weights on SQLite (title, targets, summary, abstract), in step with Postgres' A/A/B/C
SQLITE_WEIGHTS = (10.0, 10.0, 4.0, 1.0)


def terms(query: str) -> list[str]:
    """The query's distinct words, in order: nothing of it reaches the database as syntax."""
    words = [w.lower() for w in _WORD.findall(query) if w.strip("_")]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def search_proposals(session: Session, query: str, limit: int) -> list[tuple[int, float]]:
    """(proposal id, score), best first; the score is higher for a better match (its scale is the
    database's own, so only the order is comparable across databases)."""
    words = terms(query)
    if not words or limit <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        stmt = text(
            "SELECT proposal_pk, ts_rank_cd(document, q) AS score "
            "FROM proposal_text, to_tsquery('english', :q) AS q "
            "WHERE document @@ q ORDER BY score DESC, proposal_pk LIMIT :n"
        )
        params = {"q": " | ".join(words), "n": limit}
    else:
        weights = ", ".join(str(w) for w in SQLITE_WEIGHTS)
        stmt = text(
            f"SELECT rowid, -bm25(proposal_text, {weights}) AS score FROM proposal_text "
            "WHERE proposal_text MATCH :q ORDER BY score DESC, rowid LIMIT :n"
        )
        params = {"q": " OR ".join(f'"{w}"' for w in words), "n": limit}
    return [(int(pk), float(score)) for pk, score in session.execute(stmt, params)]
