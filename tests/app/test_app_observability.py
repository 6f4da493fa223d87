"""Request ids, JSON logs, errors: only connection-level DB failures are 503s, everything else a logged
500 carrying the request id; metrics of several workers in one exposition."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import text

from paperclip.config import get_settings
from paperclip.db import get_engine, session_scope

from .conftest import metric


def test_every_response_carries_a_request_id_and_a_sane_incoming_one_is_kept(service):
    c = service.client
    generated = {c.get(service.api("/health")).headers["x-request-id"] for _ in range(3)}
    assert len(generated) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", g) for g in generated)
    kept = c.get(service.api("/search"), params={"q": "x"}, headers={"X-Request-ID": "client-42.a:b"})
    assert kept.headers["x-request-id"] == "client-42.a:b"
    for bad in ("has spaces", "x" * 200, "semi;colon"):
        replaced = c.get(service.api("/health"), headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert replaced != bad and re.fullmatch(r"[0-9a-f]{32}", replaced)
    for response in (
        c.get(service.api("/observations/999999")),
        c.get(service.api("/search"), params={"q": " "}),
    ):
        assert response.status_code in (404, 422) and response.headers["x-request-id"]


def test_logs_are_json_lines_with_the_request_id(service, caplog):
    caplog.set_level(logging.INFO)
    r = service.client.get(
        service.api("/search"), params={"q": "nebula"}, headers={"X-Request-ID": "trace-7"}
    )
    assert r.status_code == 200
    access = [rec for rec in caplog.records if rec.name == "paperclip.access" and rec.request_id == "trace-7"]
    assert len(access) == 1 and access[0].status == 200 and access[0].route == "/api/v1/search"
    handler = next(h for h in logging.getLogger().handlers if h.name == "paperclip")
    line = json.loads(handler.format(access[0]))
    assert (
        line["request_id"] == "trace-7" and line["level"] == "INFO" and line["logger"] == "paperclip.access"
    )
    assert line["route"] == "/api/v1/search" and line["status"] == 200 and "time" in line


def test_a_database_bug_is_a_logged_500_with_the_request_id(service, db_url, caplog):
    with get_engine(db_url).begin() as conn:  # the code and the schema disagree: a bug, not an outage
        conn.execute(text("ALTER TABLE observations RENAME COLUMN target TO target_renamed"))
    caplog.set_level(logging.ERROR)
    r = service.client.get(service.api(f"/observations/{service.ids[0]}"), headers={"X-Request-ID": "bug-1"})
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json", r.text
    body = r.json()
    assert body["status"] == 500 and body["request_id"] == "bug-1" == r.headers["x-request-id"]
    assert "bug-1" in body["detail"] and "target" not in body["detail"]  # no internals to the client
    logged = [rec for rec in caplog.records if rec.levelno == logging.ERROR and rec.request_id == "bug-1"]
    assert logged and logged[0].exc_info and "target" in str(logged[0].exc_info[1])
    page = service.client.get(service.url + f"/observations/{service.ids[0]}")
    assert page.status_code == 500 and "text/html" in page.headers["content-type"]
    assert page.headers["x-request-id"] in page.text
    assert service.client.get(service.api("/health")).status_code == 200


def test_an_exhausted_connection_pool_is_a_503(service, db_url, monkeypatch):
    monkeypatch.setenv("PAPERCLIP_DB_POOL_TIMEOUT_S", "0.3")
    get_settings.cache_clear()
    get_engine.cache_clear()  # the service's next session gets an engine with the short pool wait
    engine = get_engine(db_url)
    held = [engine.connect() for _ in range(engine.pool.size() + engine.pool._max_overflow)]
    try:
        r = service.client.get(service.api(f"/observations/{service.ids[0]}"))
        assert r.status_code == 503 and r.json()["reason"] == "database" and r.headers["retry-after"]
    finally:
        for conn in held:
            conn.close()
    assert service.client.get(service.api(f"/observations/{service.ids[0]}")).status_code == 200


def test_one_sessionmaker_per_engine_and_statement_timeouts(db_url, monkeypatch):
    from paperclip.db import _sessions

    assert _sessions(get_engine(db_url)) is _sessions(get_engine(db_url))
    if not db_url.startswith("postgresql"):
        return
    monkeypatch.setenv("PAPERCLIP_DB_STATEMENT_TIMEOUT_S", "0.2")
    get_settings.cache_clear()
    get_engine.cache_clear()
    from sqlalchemy.exc import OperationalError

    with pytest.raises(OperationalError, match="statement timeout"), session_scope(db_url) as s:
        s.execute(text("SELECT pg_sleep(5)"))
    get_engine(db_url).dispose()


def test_connect_timeout_gives_up_on_a_silent_server(monkeypatch):
    from sqlalchemy.exc import OperationalError

    monkeypatch.setenv("PAPERCLIP_DB_CONNECT_TIMEOUT_S", "1")
    get_settings.cache_clear()
    with socket.socket() as silent:  # accepts TCP connections (the kernel's backlog), never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql+psycopg://x@127.0.0.1:{silent.getsockname()[1]}/x"
        with pytest.raises(OperationalError), session_scope(url) as s:
            s.execute(text("SELECT 1"))
    get_engine(url).dispose()
    get_engine.cache_clear()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_several_workers_report_through_one_metrics_endpoint(env, db_url, tmp_path):
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperclip_cli", "serve", "--port", str(port), "--workers", "2"],
        env={**env, "PROMETHEUS_MULTIPROC_DIR": str(multiproc), "PAPERCLIP_DEVICE": "cpu"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 180
        while len({f.name.rsplit("_", 1)[-1] for f in multiproc.glob("*.db")}) < 2:  # both workers up
            assert proc.poll() is None and time.monotonic() < deadline, "workers did not start"
            time.sleep(0.3)
        for _ in range(20):
            while True:
                try:
                    assert httpx.get(f"{base}/health", timeout=10).status_code == 200  # a new connection each
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline
                    time.sleep(0.3)
        counts = {
            metric(httpx.get(f"{base}/metrics").text, "paperclip_http_requests_total", route="/api/v1/health")
            for _ in range(6)
        }
        assert counts == {20.0}  # whichever worker answers, it reports both workers' requests
    finally:
        proc.terminate()
        proc.wait(30)
    assert not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
