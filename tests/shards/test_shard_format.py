"""The shard file format and its reader: round trip, lookup by (id, path), integrity checks."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from paperclip.shards import (
    HEADER_BYTES,
    MANIFEST,
    PreviewShards,
    ShardsCorrupt,
    ShardWriter,
    Source,
    write_manifest,
)

SHAPE = (3, 16, 16)


def _record(i: int) -> np.ndarray:
    return np.random.default_rng(i).integers(0, 256, SHAPE, dtype=np.uint8)


def _write(root, seq: int, rows: list[tuple[int, str, int]]) -> dict:
    """rows: (id, path, pixel seed)."""
    writer = ShardWriter(root, seq, SHAPE)
    for obs_id, path, seed in rows:
        writer.add(
            Source(obs_id, path, 100 + obs_id, 7, hashlib.sha256(path.encode()).digest()), _record(seed)
        )
    return writer.seal()


def test_round_trip_fixed_records_offsets_and_hashes(tmp_path):
    entries = [_write(tmp_path, 1, [(10, "a.jpg", 1), (11, "b.jpg", 2), (12, "c.jpg", 3)])]
    write_manifest(tmp_path, entries, 1)
    shards = PreviewShards.open(tmp_path)
    assert len(shards) == 3 and shards.shape == SHAPE
    shard = shards.shards[0]
    stride = shard.table["offset"][1] - shard.table["offset"][0]
    assert shard.table["offset"][0] == HEADER_BYTES and stride % 4096 == 0  # page-aligned fixed records
    for row, seed in enumerate([1, 2, 3]):
        assert np.array_equal(shard.records[row], _record(seed))
        assert bytes(shard.table["pixels_sha256"][row]) == hashlib.sha256(_record(seed).tobytes()).digest()
    out = np.zeros((4, *SHAPE), np.uint8)
    shards.read([2, 0, 1, 2], out)  # out of order and repeated: runs of neighbours are copied together
    assert [np.array_equal(o, _record(s)) for o, s in zip(out, [3, 1, 2, 3], strict=True)] == [True] * 4
    assert not (tmp_path / ".shard-000001.bin.tmp").exists()


def test_locate_matches_id_and_path_and_the_newest_record_wins(tmp_path):
    entries = [_write(tmp_path, 1, [(1, "p1.jpg", 1), (2, "p2.jpg", 2)])]
    entries.append(
        _write(tmp_path, 2, [(2, "p2-new.jpg", 20), (3, "p3.jpg", 3)])
    )  # observation 2 re-imported
    write_manifest(tmp_path, entries, 2)
    shards = PreviewShards.open(tmp_path)
    assert shards.live_count() == 3 and len(shards) == 4
    pos = shards.locate([1, 2, 2, 3, 4], ["p1.jpg", "p2-new.jpg", "p2.jpg", "p3.jpg", "p4.jpg"])
    assert pos[0] >= 0 and pos[1] >= 0 and pos[3] >= 0
    assert pos[2] == -1 and pos[4] == -1  # a stale path never reads the old pixels; an unknown id is absent
    assert np.array_equal(shards.record(pos[1]), _record(20))
    assert shards.locate([], []).shape == (0,)


def test_tampering_is_detected(tmp_path):
    entries = [_write(tmp_path, 1, [(1, "p1.jpg", 1)])]
    write_manifest(tmp_path, entries, 1)
    path = tmp_path / entries[0]["name"]
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # inside the table (it follows the records)
    path.write_bytes(bytes(data))
    with pytest.raises(ShardsCorrupt, match="checksum"):
        PreviewShards.open(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["shards"][0]["count"] = 5
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ShardsCorrupt, match="manifest"):
        PreviewShards.open(tmp_path)
    (tmp_path / "junk.bin").write_bytes(b"\0" * 8192)
    from paperclip.shards import Shard

    with pytest.raises(ShardsCorrupt, match="not a sealed"):
        Shard(tmp_path / "junk.bin")


def test_no_manifest_means_no_shards_and_bad_records_are_refused(tmp_path):
    assert PreviewShards.open(tmp_path) is None
    writer = ShardWriter(tmp_path, 1, SHAPE)
    with pytest.raises(ValueError, match="uint8"):
        writer.add(Source(1, "x", 0, 0, b"\0" * 32), np.zeros(SHAPE, np.float32))
    writer.abort()
    assert not list(tmp_path.iterdir())
