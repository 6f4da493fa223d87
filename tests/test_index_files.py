"""The index version format: round trip, atomic write, corruption detected."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from paperclip.index_files import IndexCorrupt, read_index_files, write_index_files


def make_version(path, n=50, d=16):
    rng = np.random.default_rng(0)
    vec = rng.normal(size=(n, d)).astype(np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    ids = np.arange(1000, 1000 + n, dtype=np.int64)
    index = faiss.IndexIDMap(faiss.IndexFlatIP(d))
    index.add_with_ids(vec, ids)
    vocab = [{"id": 1, "text": "globular clusters", "kind": "object"}]
    write_index_files(
        path, index, ids, vec, vocab, rng.normal(size=(1, d)), {"model_spec": "tiny", "kind": "flat"}
    )
    return vec, ids


def test_round_trip_search_returns_db_ids(tmp_path):
    vec, ids = make_version(tmp_path / "v1")
    files = read_index_files(tmp_path / "v1")
    scores, found = files.search(vec[:3], 5)
    assert list(found[:, 0]) == list(ids[:3])
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    assert files.manifest["count"] == 50 and files.vocab[0]["text"] == "globular clusters"
    assert [p.name for p in tmp_path.iterdir()] == ["v1"]


def test_corruption_detected(tmp_path):
    make_version(tmp_path / "v1")
    with (tmp_path / "v1" / "index.faiss").open("r+b") as f:
        f.seek(100)
        f.write(b"\x00\xff\x00\xff")
    with pytest.raises(IndexCorrupt, match="checksum"):
        read_index_files(tmp_path / "v1")


def test_existing_version_never_overwritten(tmp_path):
    make_version(tmp_path / "v1")
    with pytest.raises(FileExistsError):
        make_version(tmp_path / "v1")
