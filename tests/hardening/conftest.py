"""One live service per database kind for the hardening tests: a bulk-inserted archive, an index of
random vectors (the tiny model embeds queries), uvicorn in its own process on a free loopback port."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the drivers live in benchmarks/stress
    sys.path.insert(0, str(REPO))

from benchmarks.stress.service import Server, make_archive, start_server  # noqa: E402
from paperclip.db import get_engine  # noqa: E402

PG_URL = os.environ.get("PAPERCLIP_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OBSERVATIONS = 3000
UPLOAD_LIMIT = 1024 * 1024
ADMIN_TOKEN = "hardening-" + uuid.uuid4().hex
LLM_KEY = "sk-" + uuid.uuid4().hex


@dataclass
class Live:
    server: Server
    url: str
    home: Path
    observations: int


def _database(kind: str, tmp: Path) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'paperclip.db'}", lambda: None
    if PG_URL.lower() == "none":
        pytest.skip("PAPERCLIP_TEST_DATABASE_URL=none: Postgres tests switched off by the caller")
    name = f"pc_hard_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request, tmp_path_factory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp(f"hardening-{request.param}")
    url, drop = _database(request.param, tmp)
    home = tmp / "home"
    make_archive(home, url, OBSERVATIONS, "tiny")
    get_engine(url).dispose()
    server = start_server(
        home, url, admin_token=ADMIN_TOKEN, llm_api_key=LLM_KEY, max_upload_bytes=str(UPLOAD_LIMIT)
    )
    try:
        yield Live(server, url, home, OBSERVATIONS)
    finally:
        server.stop()
        get_engine(url).dispose()
        get_engine.cache_clear()
        drop()
