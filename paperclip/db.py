"""Engine, sessions, migrations and the one upsert every layer uses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib.resources import files
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from paperclip.config import get_settings


def make_engine(url: str) -> Engine:
    """An engine with bounded waits: connecting, a pooled connection and (Postgres) each statement
    give up after the configured timeouts instead of hanging a request or a job."""
    settings = get_settings()
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")  # a single-connection pool: no waits
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            **({} if in_memory else {"pool_timeout": settings.db_pool_timeout_s}),
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # WAL lets the service read while a job writes
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    connect_args: dict[str, Any] = {"connect_timeout": max(1, round(settings.db_connect_timeout_s))}
    if settings.db_statement_timeout_s > 0:
        connect_args["options"] = f"-c statement_timeout={round(settings.db_statement_timeout_s * 1000)}"
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=settings.db_pool_timeout_s,
        connect_args=connect_args,
    )


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().db_url
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return make_engine(url)


@lru_cache(maxsize=8)
def _sessions(engine: Engine) -> sessionmaker[Session]:
    """One session factory per engine (a new engine after ``get_engine.cache_clear`` gets its own)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction: commit on success, roll back on error."""
    session = _sessions(get_engine(url))()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("migrations")))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().db_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    from alembic import command

    url = url or get_settings().db_url
    get_engine(url)  # creates the SQLite folder
    command.upgrade(alembic_config(url), revision)


def upsert(
    session: Session,
    model: type,
    rows: Sequence[dict[str, Any]],
    key: Iterable[str],
    update: Iterable[str] | None = None,
) -> None:
    """Insert rows, or update ``update`` columns where ``key`` already exists (both dialects)."""
    if not rows:
        return
    key = list(key)
    dialect = session.get_bind().dialect.name
    ins = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect](model)
    stmt = ins.values(list(rows))
    cols = list(update) if update is not None else [c for c in rows[0] if c not in key]
    if cols:
        stmt = stmt.on_conflict_do_update(index_elements=key, set_={c: stmt.excluded[c] for c in cols})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=key)
    session.execute(stmt)
