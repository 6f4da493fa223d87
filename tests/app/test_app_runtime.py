"""The runtime: index versions swap in without a restart, a corrupt one is refused, the DB can go away."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .conftest import metric


def top_ids(service, q: str = "galaxy cluster lensing arcs", k: int = 50) -> list[int]:
    body = service.client.get(service.api("/search"), params={"q": q, "k": k}).json()
    return body["index_version"], [h["observation"]["id"] for h in body["results"]]


def test_new_version_swaps_in_and_a_failed_one_shows_in_ready_then_is_retried(make_service, monkeypatch):
    service = make_service(index_poll_s=3600, index_retry_s=10, index_retry_max_s=25)  # refreshed by hand
    rt = service.runtime
    clock = [1000.0]
    monkeypatch.setattr("app.runtime.time.monotonic", lambda: clock[0])
    v1, before = top_ids(service)
    assert v1 == service.versions[0] and len(before) == len(service.ids)
    half = [i if n % 2 == 0 else -1 for n, i in enumerate(service.ids)]  # a version holding every other one
    service.add_version(ids=half)
    v2 = service.versions[-1]
    assert rt.refresh()
    version, after = top_ids(service)
    assert version == v2 and set(after) == {i for i in half if i >= 0}

    path = service.add_version()  # activated, but corrupt on disk
    v3 = service.versions[-1]
    with (path / "index.faiss").open("r+b") as f:
        f.seek(60)
        original = f.read(4)
        f.seek(60)
        f.write(b"\x13\x37\x13\x37")
    assert not rt.refresh()
    ready = service.client.get(service.api("/ready"))
    body = ready.json()
    assert ready.status_code == 503 and body["status"] == "unavailable" and body["database"] is True
    assert (body["index_version"], body["active_version"]) == (v2, v3)
    assert "checksum" in body["last_error"] and f"version {v3}" in body["last_error"]
    assert top_ids(service)[0] == v2  # the old version keeps answering meanwhile

    def failures() -> float:
        return metric(service.client.get(service.api("/metrics")).text, "paperclip_index_load_failures_total")

    for advance, expected in ((0, 1), (9, 1), (1, 2), (19, 2), (1, 3), (24, 3), (1, 4), (25, 5)):
        clock[0] += advance  # backoff 10 s, 20 s, then capped at 25 s
        rt.refresh()
        assert failures() == expected, (advance, expected)

    with (path / "index.faiss").open("r+b") as f:  # repaired on disk: the next retry serves it
        f.seek(60)
        f.write(original)
    assert not rt.refresh()  # still backing off
    clock[0] += 25
    assert rt.refresh()
    ready = service.client.get(service.api("/ready"))
    assert ready.status_code == 200 and ready.json()["index_version"] == v3
    assert ready.json()["active_version"] == v3 and ready.json()["last_error"] is None

    service.activate(v1)  # going back works too
    assert rt.refresh()
    assert top_ids(service) == (v1, before)


def test_starts_without_an_index_then_picks_one_up(make_service):
    service = make_service(index=False)
    ready = service.client.get(service.api("/ready"))
    assert (
        ready.status_code == 503
        and ready.json()["database"] is True
        and ready.json()["index_version"] is None
    )
    r = service.client.get(service.api("/search"), params={"q": "nebula"})
    assert r.status_code == 503 and r.json()["reason"] == "not_ready"
    assert service.client.get(service.url + "/", params={"q": "nebula"}).status_code == 503
    assert service.client.get(service.url + "/").status_code == 200  # the search page itself still renders
    service.add_version()
    service.wait_for_version(service.versions[-1])
    assert len(top_ids(service)[1]) == len(service.ids)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_database_outage_is_503_then_recovers(service, db_url):
    name = make_url(db_url).database
    admin = create_engine(make_url(db_url).set(database="postgres"), isolation_level="AUTOCOMMIT")

    def set_connections(allowed: bool) -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
            if not allowed:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                    {"n": name},
                )

    try:
        assert service.client.get(service.api("/ready")).status_code == 200
        set_connections(False)
        ready = service.client.get(service.api("/ready"))
        assert ready.status_code == 503 and ready.json()["database"] is False
        r = service.client.get(service.api("/search"), params={"q": "planetary nebula"})
        assert r.status_code == 503 and r.json()["reason"] == "database"
        assert service.client.get(service.api(f"/observations/{service.ids[0]}")).status_code == 503
        assert service.client.get(service.api("/health")).status_code == 200
        set_connections(True)
        deadline = time.monotonic() + 20
        while service.client.get(service.api("/ready")).status_code != 200:
            assert time.monotonic() < deadline, "no recovery"
            time.sleep(0.2)
        r = service.client.get(service.api("/search"), params={"q": "planetary nebula"})
        assert r.status_code == 200 and r.json()["results"]
    finally:
        set_connections(True)
        admin.dispose()


def test_admin_is_hidden_without_a_token(service):
    for path in (f"/admin/activate/{service.versions[0]}", "/admin/reindex?model=tiny"):
        r = service.client.post(service.api(path), headers={"Authorization": "Bearer anything"})
        assert r.status_code == 404, path


def test_admin_activate_needs_the_token(make_service):
    service = make_service(admin_token="s3cret-token")
    service.add_version(activate=False)
    v2 = service.versions[-1]
    url = service.api(f"/admin/activate/{v2}")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer s3cret-token-and-more"}):
        r = service.client.post(url, headers=headers)
        assert r.status_code == 403, headers
    assert service.client.get(service.api("/ready")).json()["index_version"] == service.versions[0]
    r = service.client.post(url, headers={"Authorization": "Bearer s3cret-token"})
    assert r.status_code == 200 and r.json()["index_version"] == v2
    assert service.client.get(service.api("/ready")).json()["index_version"] == v2
    r = service.client.post(
        service.api("/admin/activate/9999"), headers={"Authorization": "Bearer s3cret-token"}
    )
    assert r.status_code == 404
    r = service.client.post(
        service.api("/admin/reindex"),
        params={"model": "tiny"},
        headers={"Authorization": "Bearer s3cret-token"},
    )
    assert (
        r.status_code == 202
    )  # the indexer's CLI builds and activates a new version; the service picks it up
    deadline = time.monotonic() + 240
    while (ready := service.client.get(service.api("/ready")).json())["index_version"] == v2:
        assert time.monotonic() < deadline, "the rebuilt index never arrived"
        time.sleep(0.5)
    assert ready["index_version"] > v2 and ready["vectors"] == len(service.ids)
