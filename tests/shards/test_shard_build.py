"""``paperclip shards build|verify`` on a real database and image store (SQLite and Postgres)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from indexer.shards import build as build_module
from indexer.shards.build import build, verify
from paperclip.db import session_scope
from paperclip.preview_batches import decode_preview
from paperclip.schema import LedgerEntry, Observation
from paperclip.shards import PreviewShards, ShardWriter, shards_root
from paperclip.storage import ImageStore, get_paths
from paperclip_cli.main import app


def _rows() -> list[tuple[int, str]]:
    with session_scope() as s:
        return [
            tuple(r)
            for r in s.execute(select(Observation.id, Observation.local_path).order_by(Observation.id))
        ]


def _live(shards: PreviewShards) -> dict[int, np.ndarray]:
    rows = _rows()
    pos = shards.locate([i for i, _ in rows], [p for _, p in rows])
    return {i: shards.record(p) for (i, _), p in zip(rows, pos, strict=True) if p >= 0}


def test_build_decodes_each_preview_once_and_only_what_is_new(previews):
    ids = previews(5)
    first = build(progress=False, records_per_shard=2)
    assert (first.written, first.kept, first.shards, first.records) == (5, 0, 3, 5)
    shards = PreviewShards.open()
    store = ImageStore(get_paths().images)
    for obs_id, rel in _rows():  # every record is exactly the decoded preview
        assert np.array_equal(_live(shards)[obs_id], decode_preview(store.resolve(rel)))
    assert set(_live(shards)) == set(ids)

    again = build(progress=False, records_per_shard=2)
    assert (again.written, again.kept, again.copied, again.retired) == (0, 5, 0, [])
    new = previews(3, offset=100)
    more = build(progress=False, records_per_shard=2)
    assert (more.written, more.kept) == (3, 5)
    assert set(_live(PreviewShards.open())) == set(ids + new)
    assert verify(sample=16).ok


def test_changed_and_deleted_previews_are_redone_and_dead_shards_compacted(previews):
    ids = previews(6)
    build(progress=False, records_per_shard=3)
    rows = dict(_rows())
    with session_scope() as s:  # observation 1 now shows observation 2's preview; 3 and 4 are gone
        s.execute(update(Observation).where(Observation.id == ids[0]).values(local_path=rows[ids[1]]))
        s.execute(delete(Observation).where(Observation.id.in_([ids[3], ids[4]])))
    summary = build(progress=False, records_per_shard=3)
    assert summary.written == 1  # only the re-pointed observation is decoded again
    assert summary.retired and summary.copied >= 1  # the second shard (1 of 3 live) was rewritten
    shards = PreviewShards.open()
    live = _live(shards)
    assert set(live) == {ids[0], ids[1], ids[2], ids[5]}
    assert np.array_equal(live[ids[0]], live[ids[1]])
    assert len(shards) == 3 + 2  # shard 1 (2 of 3 live) keeps its dead record until half of it is dead
    assert not any((shards_root() / name).exists() for name in summary.retired)
    report = verify(sample=16, full=True)
    assert report.ok and report.dead == 1


def test_a_killed_build_resumes_without_duplicates(previews, monkeypatch):
    previews(5)
    real_seal = ShardWriter.seal
    sealed = []

    def seal_then_die(self):
        if sealed:
            self.file.close()
            raise KeyboardInterrupt  # killed while writing the second shard
        sealed.append(real_seal(self))
        return sealed[-1]

    monkeypatch.setattr(ShardWriter, "seal", seal_then_die)
    with pytest.raises(KeyboardInterrupt):
        build(progress=False, records_per_shard=2)
    monkeypatch.setattr(ShardWriter, "seal", real_seal)
    assert len(PreviewShards.open()) == 2  # the first shard survived, listed in the manifest
    (shards_root() / "shard-000099.bin").write_bytes(b"sealed but never listed")
    summary = build(progress=False, records_per_shard=2)
    assert (summary.written, summary.kept) == (3, 2)
    shards = PreviewShards.open()
    assert len(shards) == 5 and shards.live_count() == 5
    assert sorted(p.name for p in shards_root().iterdir()) == [
        "lock",
        "manifest.json",
        "shard-000001.bin",
        "shard-000002.bin",
        "shard-000003.bin",
    ]


def test_bad_previews_go_to_the_ledger_and_verify_finds_tampering(previews):
    ids = previews(4)
    store = ImageStore(get_paths().images)
    rows = dict(_rows())
    store.resolve(rows[ids[1]]).write_bytes(b"\xff\xd8\xff not really a jpeg")
    summary = build(progress=False)
    assert list(summary.failed) == [ids[1]] and summary.written == 3
    with session_scope() as s:
        entry = s.scalars(select(LedgerEntry).where(LedgerEntry.job == "shards")).one()
        assert (entry.unit, entry.status, entry.reason) == (str(ids[1]), "failed", "unreadable_preview")
    report = verify(sample=8)
    assert not report.ok and report.missing == [ids[1]]

    shards = PreviewShards.open()
    path = shards.shards[0].path
    data = bytearray(path.read_bytes())
    data[4096 + 1000] ^= 0xFF  # one pixel of the first record
    path.write_bytes(bytes(data))
    report = verify(sample=8, full=True)
    assert report.hash_mismatch == [ids[0]] and report.decode_mismatch == [ids[0]]
    assert "PROBLEMS" in report.lines()[0]

    store.resolve(rows[ids[1]]).write_bytes(store.resolve(rows[ids[2]]).read_bytes())  # fixed
    assert build(progress=False).written == 1
    with session_scope() as s:
        assert s.scalars(select(LedgerEntry.status).where(LedgerEntry.job == "shards")).one() == "done"


def test_cli_build_and_verify(previews):
    previews(3)
    runner = CliRunner()
    result = runner.invoke(app, ["shards", "build"])
    assert result.exit_code == 0, result.output
    assert "3 previews in 1 shards" in result.output
    result = runner.invoke(app, ["shards", "verify", "--full"])
    assert result.exit_code == 0 and "OK" in result.output
    previews(1, offset=50)
    result = runner.invoke(app, ["shards", "verify"])
    assert result.exit_code == 1 and "not in the shards: 1" in result.output
    with build_module._lock(shards_root()):  # one build per folder at a time
        result = runner.invoke(app, ["shards", "build"])
    assert result.exit_code == 1 and "another shard build" in result.output
