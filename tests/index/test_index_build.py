"""Building versions from real previews and rows: ids, vocabulary, activation, verify, add, prune."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import delete, select
from typer.testing import CliRunner

from indexer.index.embed import encode_batches, loader
from indexer.index.versions import activate, add, build, build_index, embeddable, list_versions, prune, verify
from paperclip.db import session_scope
from paperclip.index_files import read_index_files
from paperclip.model import load_model
from paperclip.schema import IndexVersion, LedgerEntry, Observation, VocabularyTerm
from paperclip.storage import ImageStore, get_paths
from paperclip_cli.main import app


def version_row(version_id: int) -> IndexVersion:
    with session_scope() as s:
        return s.get(IndexVersion, version_id)


def active_ids() -> list[int]:
    with session_scope() as s:
        return list(s.scalars(select(IndexVersion.id).where(IndexVersion.active.is_(True))))


def preview_path(obs_id: int) -> Path:
    with session_scope() as s:
        rel = s.get(Observation, int(obs_id)).local_path
    return ImageStore(get_paths().images).resolve(rel)


def test_build_embeds_real_previews_under_their_db_ids(hst_observations, tiny_model):
    version_id = build_index("tiny", kind="auto")
    row = version_row(version_id)
    assert (row.status, row.active, row.kind, row.model_spec) == ("ready", True, "flat", "tiny")
    files = read_index_files(Path(row.path))
    assert row.count == files.count == len(hst_observations) and row.checksum == files.manifest["checksum"]
    np.testing.assert_array_equal(files.ids, sorted(hst_observations))
    assert files.manifest["model_spec"] == "tiny" and files.manifest["dim"] == tiny_model.dim == row.dim

    # the pipeline's vectors agree with the model applied to each full-resolution preview
    direct = tiny_model.encode_images([Image.open(preview_path(i)) for i in files.ids])
    stored = files.vectors()
    assert np.min(np.sum(direct * stored, axis=1)) > 0.98

    # exact search over the stored vectors is a brute force, answering DB ids
    queries = tiny_model.encode_text(["spiral galaxy", "globular cluster", "planetary nebula"])
    scores, found = files.search(queries, 5)
    brute = queries @ stored.T
    np.testing.assert_array_equal(found, files.ids[np.argsort(-brute, axis=1, kind="stable")[:, :5]])

    with session_scope() as s:
        terms = s.scalars(select(VocabularyTerm).order_by(VocabularyTerm.id)).all()
        assert len(terms) > 50
        assert files.vocab == [
            {"id": t.id, "text": t.text, "kind": t.kind, "source": t.source} for t in terms
        ]
    expected = tiny_model.encode_text([t["text"] for t in files.vocab])
    np.testing.assert_allclose(files.vocab_vectors, expected, atol=2e-3)
    assert json.loads((Path(row.path) / "vocab.json").read_text())[0].keys() >= {"id", "text", "kind"}


def test_activate_is_atomic_under_a_concurrent_reader(observations):
    observations(12)
    first = build_index("tiny")
    second = build_index("tiny", activate=False)
    assert active_ids() == [first] and version_row(second).status == "ready"

    seen: list[list[int]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.append(active_ids())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(40):
            activate(second if n % 2 == 0 else first)
    finally:
        stop.set()
        thread.join()
    assert seen and all(len(ids) == 1 for ids in seen), [ids for ids in seen if len(ids) != 1][:3]
    assert {ids[0] for ids in seen} <= {first, second}
    assert active_ids() == [first]

    with pytest.raises(LookupError):
        activate(9999)
    with session_scope() as s:
        s.add(IndexVersion(model_spec="tiny", path="/nowhere", kind="flat", dim=32, status="building"))
        s.flush()
        building = s.scalar(select(IndexVersion.id).where(IndexVersion.status == "building"))
    with pytest.raises(ValueError, match="not ready"):
        activate(building)
    assert active_ids() == [first]


def test_verify_catches_deleted_rows_and_missing_vectors_and_add_repairs(observations):
    ids = observations(16)
    base = build_index("tiny")
    assert verify(sample=4).ok

    with session_scope() as s:
        s.execute(delete(Observation).where(Observation.id == ids[3]))
    new = observations(5, offset=100)
    report = verify(sample=4)
    assert not report.ok
    assert report.dangling == [ids[3]] and report.missing == new
    assert report.reembedded == 4 and report.min_cosine > 0.999

    summary = add()
    assert summary.version_id != base and summary.active and active_ids() == [summary.version_id]
    assert (summary.embedded, summary.reused, summary.count) == (5, 15, 20)
    after = verify(sample=4)
    assert after.ok, after.lines()
    assert add().version_id == summary.version_id  # nothing new: no new version
    old, grown = read_index_files(Path(version_row(base).path)), read_index_files(Path(summary.path))
    keep = np.isin(old.ids, grown.ids)
    np.testing.assert_array_equal(old.vectors()[keep], grown.vectors()[np.isin(grown.ids, old.ids)])

    vectors = Path(summary.path) / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-8:] = b"\x00\x3c" * 4  # four vector components set to 1.0
    vectors.write_bytes(bytes(data))
    corrupt = verify(summary.version_id)
    assert not corrupt.ok and "checksum" in corrupt.corrupt


def test_unreadable_preview_is_reported_and_the_rest_indexed(observations):
    ids = observations(10)
    preview_path(ids[2]).write_bytes(b"\xff\xd8\xff not really a jpeg")
    summary = build("tiny", progress=False)
    assert summary.count == 9 and list(summary.failed) == [ids[2]]
    with session_scope() as s:
        entry = s.scalar(select(LedgerEntry).where(LedgerEntry.job == "embed"))
        assert (entry.unit, entry.status, entry.reason) == (str(ids[2]), "failed", "unreadable_preview")
    assert verify(sample=0).missing == [ids[2]]


def test_the_ray_job_embeds_what_the_in_process_pipeline_embeds(observations):
    ids = observations(24)
    files = read_index_files(Path(version_row(build_index("tiny")).path))
    clip = load_model("tiny", "cpu")
    with session_scope() as s:
        items = [(i, p) for i, p in embeddable(s) if i in ids]
    got, vectors, _ = zip(
        *encode_batches(clip, loader(clip, items, get_paths().images, 8, 0), False), strict=True
    )
    np.testing.assert_array_equal(files.ids, np.concatenate(got))
    np.testing.assert_allclose(files.vectors(), np.concatenate(vectors), atol=1e-3)


def test_cli_list_activate_verify_prune(observations):
    observations(8)
    first, second, third = (build_index("tiny", activate=False) for _ in range(3))
    runner = CliRunner()
    result = runner.invoke(app, ["index", "activate", str(second)])
    assert result.exit_code == 0 and f"index version {second} is active" in result.output
    listing = runner.invoke(app, ["index", "list"]).output
    assert f"* {second:>4}  ready" in listing and f"  {first:>4}  ready" in listing
    assert runner.invoke(app, ["index", "activate", "4242"]).exit_code == 1
    assert runner.invoke(app, ["index", "verify", "--sample", "2"]).exit_code == 0

    assert prune(keep=2) == [first]
    assert [v.id for v in list_versions()] == [second, third] and active_ids() == [second]
    assert sorted(p.name.split("-")[0] for p in get_paths().indexes.glob("v*")) == [f"v{second}", f"v{third}"]
    assert prune(keep=1) == [third] and active_ids() == [second]
