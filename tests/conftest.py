"""Shared fixtures: a fresh migrated database per test on SQLite and on the real Postgres,
an isolated data home, the real HST sample (vendored), and a network guard."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from paperclip.config import get_settings
from paperclip.db import get_engine, upgrade

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("PAPERCLIP_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HST_MINI = Path(os.environ.get("PAPERCLIP_HST_MINI", REPO / "tests" / "data" / "hst-mini"))


def _pg_admin():
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    get_engine(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if PG_URL.lower() == "none":
        pytest.skip("PAPERCLIP_TEST_DATABASE_URL=none: Postgres tests switched off by the caller")
    name = f"pc_tmpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    get_engine(url).dispose()
    get_engine.cache_clear()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "paperclip.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        yield url
        get_engine(url).dispose()
    else:
        template = request.getfixturevalue("pg_template")
        name = f"pc_test_{uuid.uuid4().hex[:12]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        yield url
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    get_engine.cache_clear()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Iterator[Path]:
    """An isolated data home; settings read afresh."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("PAPERCLIP_HOME", str(path))
    monkeypatch.delenv("PAPERCLIP_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
def env(home, db_url, monkeypatch) -> Iterator[dict[str, str]]:
    """Data home plus database, as environment for in-process code and subprocesses alike."""
    monkeypatch.setenv("PAPERCLIP_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield {**os.environ}
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def hst_mini() -> Path:
    """The real HST sample: the downsized copy in tests/data, or the full set at PAPERCLIP_HST_MINI."""
    if not (HST_MINI / "manifest.jsonl").is_file():
        raise FileNotFoundError(
            f"no real HST sample at {HST_MINI} (PAPERCLIP_HST_MINI points at a wrong place?)"
        )
    return HST_MINI


@pytest.fixture(scope="session")
def lite_model():
    from paperclip.model import load_model

    return load_model("lite", device="cpu")


@pytest.fixture(scope="session")
def tiny_model():
    from paperclip.model import load_model

    return load_model("tiny", device="cpu")


@pytest.fixture
def serve_http() -> Iterator[Callable[[type[BaseHTTPRequestHandler]], str]]:
    """Start real HTTP servers on free loopback ports: ``serve_http(Handler)`` returns the base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: type[BaseHTTPRequestHandler]) -> str:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_port}"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture
def no_network(monkeypatch) -> list[tuple]:
    """Any connection to a non-loopback address raises, and is recorded."""
    attempts: list[tuple] = []
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and (host.startswith("127.") or host in ("::1", "localhost"))
            or self.family == socket.AF_UNIX
        ):
            return real_connect(self, address)
        attempts.append(address)
        raise NetworkBlocked(f"network access attempted: {address}")

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host in ("localhost", "127.0.0.1", "::1", None):
            return real_getaddrinfo(host, *args, **kwargs)
        attempts.append((host,))
        raise NetworkBlocked(f"DNS lookup attempted: {host}")

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return attempts
