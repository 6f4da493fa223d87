"""Immutable checkpoint versions: a retrain is a new version, the table and the migration keep
every version, and the live service serves the weights an index was embedded with."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import select, text

from paperclip.checkpoints import find_checkpoint, split_ref
from paperclip.config import Settings, get_settings
from paperclip.db import get_engine, session_scope, upgrade
from paperclip.index_files import read_index_files, write_index_files
from paperclip.model import load_model
from paperclip.query_embedding import QueryOptions, embed_queries
from paperclip.schema import Checkpoint, IndexVersion
from training.config import TrainConfig
from training.train import train


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _tiny(name: str, seed: int, **kw) -> TrainConfig:
    values = {"steps": 8, "val_every": 8, "val_fraction": 0.25, "seed": seed, **kw}
    return TrainConfig.from_recipe("tiny", name=name, **values)


def test_retraining_a_name_adds_a_version_and_never_rewrites_one(archive):
    first = train(_tiny("mine", seed=0))
    before = _digest(first)
    second = train(_tiny("mine", seed=1, lr=3e-3))
    assert first != second and first.parent == second.parent
    assert (first.name, second.name) == ("v1", "v2")
    assert _digest(first) == before  # the first version's files are untouched
    with session_scope() as s:
        rows = s.scalars(
            select(Checkpoint).where(Checkpoint.name == "mine").order_by(Checkpoint.version)
        ).all()
        assert [(r.version, Path(r.path)) for r in rows] == [(1, first), (2, second)]
        assert rows[0].weights_sha256 != rows[1].weights_sha256
        assert find_checkpoint(s, "mine").version == 2
        assert find_checkpoint(s, "mine@v1").path == str(first)
        assert find_checkpoint(s, "mine@1").path == str(first)
        assert find_checkpoint(s, str(second)).version == 2
        assert find_checkpoint(s, "mine@v9") is None
    for version, row in enumerate(rows, start=1):
        loaded = load_model(row.path, device="cpu")
        assert loaded.weights_sha256 == row.weights_sha256
        assert loaded.config["checkpoint"] == {"name": "mine", "version": version}
        assert row.weights_sha256 in (Path(row.path) / "README.md").read_text()
    assert split_ref("a@b@v3") == ("a@b", 3) and split_ref("plain") == ("plain", None)


def test_migration_keeps_checkpoints_and_their_index_links(db_url):
    """Back to 0001, a checkpoint that an index version points to, then forward through 0003: on
    SQLite the checkpoints table is copied and dropped, which must not cut the link."""
    from alembic import command
    from alembic.migration import MigrationContext

    from paperclip.db import alembic_config

    command.downgrade(alembic_config(db_url), "0001")
    with get_engine(db_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO checkpoints (id, name, path, base_model, created_at) "
                "VALUES (7, 'old', '/ckpt/old', 'lite', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO index_versions (checkpoint_pk, model_spec, path, kind, count, dim, status, "
                "active, created_at) VALUES (7, '/ckpt/old', '/i', 'flat', 1, 2, 'ready', true, CURRENT_TIMESTAMP)"
            )
        )
    upgrade(db_url, "0003")
    with get_engine(db_url).connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0003"
    with session_scope(db_url) as s:
        row = s.get(Checkpoint, 7)
        assert (row.name, row.version, row.weights_sha256) == ("old", 1, None)
        assert s.scalar(select(IndexVersion.checkpoint_pk)) == 7  # the link survived
        s.add(Checkpoint(name="old", version=2, path="/ckpt/old/v2", base_model="lite"))
    with pytest.raises(Exception, match="(?i)unique"), session_scope(db_url) as s:
        s.add(Checkpoint(name="old", version=2, path="/elsewhere", base_model="lite"))


# -- the live service ----------------------------------------------------------------------------
def _serve(settings: Settings) -> Iterator[str]:
    import uvicorn

    from app.main import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def service(archive) -> Iterator[str]:
    get_settings.cache_clear()
    yield from _serve(Settings(index_poll_s=0.2))


def _serving(client: httpx.Client, url: str, version: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"{url}/api/v1/ready").json().get("index_version") == version:
            return
        time.sleep(0.1)
    raise AssertionError(f"index version {version} never served")


def _expected(model_path: str, index_path: Path, query: str, k: int) -> list[tuple[int, float]]:
    """What the index returns for the query embedded by the weights at ``model_path``."""
    files = read_index_files(index_path)
    options = QueryOptions.from_settings(Settings())  # as the service embeds queries
    vec = embed_queries(
        load_model(model_path, device="cpu").encode_text, [query], files.vocab_vectors, options
    )
    scores, ids = files.search(vec, k)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True)]


def _assert_same(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> None:
    assert [i for i, _ in got] == [i for i, _ in want]
    np.testing.assert_allclose([x for _, x in got], [x for _, x in want], atol=1e-4)


def _answer(client: httpx.Client, url: str, query: str, k: int) -> list[tuple[int, float]]:
    # vector mode: the ranking the embedding alone gives, which the weights under test decide
    params = {"q": query, "k": k, "mode": "vector"}
    body = client.get(f"{url}/api/v1/search", params=params).raise_for_status().json()
    return [(hit["observation"]["id"], hit["score"]) for hit in body["results"]]


def test_retrain_reindex_serves_the_new_weights_over_http(archive, service):
    """Retrain under the same name, rebuild the index: the running service must answer with query
    vectors from the new weights, not from the model (or text cache) it held before."""
    from indexer.index.versions import build_index

    query, k = "red field; colour survey", 8
    first = train(_tiny("served", seed=0))
    v1 = build_index("served")
    client = httpx.Client(timeout=60)
    _serving(client, service, v1)
    with session_scope() as s:
        first_index = Path(s.get(IndexVersion, v1).path)
    got = _answer(client, service, query, k)
    _assert_same(got, _expected(str(first), first_index, query, k))

    second = train(_tiny("served", seed=1, lr=5e-3, steps=12))
    v2 = build_index("served")
    _serving(client, service, v2)
    with session_scope() as s:
        index = Path(s.get(IndexVersion, v2).path)
    assert (
        read_index_files(index).manifest["weights_sha256"] == load_model(second, device="cpu").weights_sha256
    )
    want = _expected(str(second), index, query, k)
    stale = _expected(str(first), index, query, k)  # what the old weights would answer on the new index
    assert np.abs(np.array([x for _, x in want]) - [x for _, x in stale]).max() > 1e-2
    _assert_same(_answer(client, service, query, k), want)
    client.close()


def test_service_refuses_an_index_embedded_by_other_weights(archive, service):
    from indexer.index.versions import activate, build_index

    good = build_index("tiny")
    client = httpx.Client(timeout=60)
    _serving(client, service, good)
    with session_scope() as s:
        row = s.get(IndexVersion, good)
        files = read_index_files(Path(row.path))
        wrong = Path(row.path).with_name("wrong-weights")
        vectors = files.vectors()
        manifest = write_index_files(
            wrong,
            files.index,
            files.ids,
            vectors,
            files.vocab,
            files.vocab_vectors,
            {"model_spec": "tiny", "weights_sha256": "0" * 64, "kind": "flat"},
        )
        bad = IndexVersion(
            model_spec="tiny", path=str(wrong), kind="flat", count=len(files.ids), dim=vectors.shape[1],
            checksum=manifest["checksum"], status="ready",
        )  # fmt: skip
        s.add(bad)
        s.flush()
        bad_id = bad.id
    activate(bad_id)
    deadline = time.monotonic() + 30
    while "paperclip_index_load_failures_total 1" not in client.get(f"{service}/api/v1/metrics").text:
        assert time.monotonic() < deadline, "the mismatched index was never refused"
        time.sleep(0.1)
    ready = client.get(f"{service}/api/v1/ready").json()
    assert ready["index_version"] == good  # the old version keeps serving
    assert np.isfinite(_answer(client, service, "red field", 3)[0][1])
    client.close()
