"""Every database read the service makes at request time uses an index: each statement is captured as
sent and EXPLAINed (Postgres with sequential scans disabled, so any that remains had no usable index;
SQLite's query plan must not SCAN a table)."""

from __future__ import annotations

from sqlalchemy import event, insert, text

from app import queries
from paperclip.db import get_engine, session_scope
from paperclip.schema import Caption, IndexVersion, Observation, Proposal


def fill(db_url: str) -> None:
    with session_scope(db_url) as s:
        s.execute(
            insert(Proposal), [{"id": i, "proposal_id": str(i), "cycle": i % 30} for i in range(1, 101)]
        )
        s.execute(
            insert(Observation),
            [
                {
                    "id": i,
                    "proposal_pk": i % 100 + 1,
                    "obs_id": f"o{i}",
                    "instrument": "ACS/WFC",
                    "local_path": "x",
                }
                for i in range(1, 5001)
            ],
        )
        s.execute(
            insert(Caption),
            [{"proposal_pk": i, "kind": "summary", "generator": "llm", "text": "t"} for i in range(1, 101)],
        )
        s.add(IndexVersion(model_spec="tiny", path="/x", kind="flat", dim=32, status="ready", active=True))
    if db_url.startswith("postgresql"):
        with session_scope(db_url) as s:
            for table in ("proposals", "observations"):
                s.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )
                )
        with get_engine(db_url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def captured(db_url: str) -> list[tuple[str, object]]:
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    engine = get_engine(db_url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope(db_url) as s:
            ids = list(range(10, 4000, 170))
            assert len(queries.observations(s, ids)) == len(ids)
            assert queries.observation(s, 77) is not None
            assert queries.summaries(s, [3, 5, 8])
            assert queries.proposal(s, 4) is not None
            assert queries.proposal_observations(s, 4)
            assert queries.preview_path(s, 99) == "x"
            assert queries.active_index_version(s) is not None
            assert queries.active_version_id(s) is not None
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return [(st, p) for st, p in statements if st.lstrip().upper().startswith("SELECT")]


def test_request_time_queries_use_indexes(db_url):
    fill(db_url)
    statements = captured(db_url)
    assert len(statements) >= 8
    with get_engine(db_url).connect() as conn:
        for statement, parameters in statements:
            if db_url.startswith("postgresql"):
                conn.exec_driver_sql("SET enable_seqscan = off")
                plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
                assert "Seq Scan" not in plan, (statement, plan)
                assert "Index" in plan, (statement, plan)
            else:
                plan = "\n".join(
                    r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                )
                scans = [
                    line for line in plan.splitlines() if line.startswith("SCAN") and "USING" not in line
                ]
                assert not scans, (statement, plan)
                assert "SEARCH" in plan, (statement, plan)
