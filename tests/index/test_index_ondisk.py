"""On-disk IVF builds (Ray tasks fill lists per block, FAISS merges them) match in-memory builds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.index.embed import WorkDir
from indexer.index.kinds import make_index
from indexer.index.ondisk import append_ondisk, build_ondisk, stage_vectors
from indexer.index.versions import add, build, verify
from paperclip.index_files import LISTS_FILE, read_index_files, write_index_files


def clustered(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    """Unit vectors around 64 centres, like embeddings of related previews."""
    centres = np.random.default_rng(0).normal(size=(64, d))
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(0, 64, n)] + 0.35 * rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)


def recall_at_10(index, queries: np.ndarray, vectors: np.ndarray, ids: np.ndarray) -> float:
    truth = ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :10]]
    _, got = index.search(queries, 10)
    return float(np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, got, strict=True)]))


def write_chunks(work: WorkDir, ids: np.ndarray, vectors: np.ndarray, rows: int) -> None:
    work.create()
    order = np.random.default_rng(1).permutation(len(ids))  # chunks arrive in any order
    for i in range(0, len(ids), rows):
        work.save(ids[order[i : i + rows]], vectors[order[i : i + rows]])


def version(path: Path, index, ids: np.ndarray, staging: Path) -> Path:
    """A version folder from a staging folder's vectors.npy and lists.ivfdata."""
    vocab = [{"id": 1, "text": "galaxy", "kind": "object", "source": "test"}]
    write_index_files(
        path,
        index,
        ids,
        staging / "vectors.npy",
        vocab,
        np.zeros((1, 32)),
        {"kind": "x"},
        None,
        staging / LISTS_FILE,
    )
    return path


@pytest.mark.parametrize("kind", ["ivfsq8", "ivfflat"])
def test_ondisk_build_matches_the_in_memory_build(tmp_path, kind, monkeypatch):
    monkeypatch.setenv("PAPERCLIP_RAY_NUM_CPUS", "2")
    n = 20_000
    ids = np.arange(n, dtype=np.int64) * 7 + (1 << 33)  # beyond 32 bits
    vectors = clustered(n)
    work = WorkDir(tmp_path / "work")
    write_chunks(work, ids, vectors, 3_000)
    staging = tmp_path / "staging"
    staging.mkdir()
    staged = stage_vectors(work.chunks(), ids, None, 32, staging / "vectors.npy")
    assert sorted(staged) == sorted(ids)

    rows = np.load(staging / "vectors.npy").astype(np.float32)
    ondisk = build_ondisk(kind, staging / "vectors.npy", staged, staging, progress=False, block_rows=4_096)
    in_memory = make_index(kind, rows, staged)

    served = read_index_files(version(tmp_path / "v1", ondisk, staged, staging), mmap=True)
    assert (served.path / LISTS_FILE).exists() and not (staging / LISTS_FILE).exists()
    np.testing.assert_array_equal(np.sort(served.ids), np.sort(ids))
    queries = clustered(200, seed=5).astype(np.float32)
    by_id = rows[np.argsort(staged)]
    sorted_ids = np.sort(staged)
    r_disk = recall_at_10(served.index, queries, by_id, sorted_ids)
    r_mem = recall_at_10(in_memory, queries, by_id, sorted_ids)
    assert r_mem >= 0.9 and abs(r_disk - r_mem) <= 0.01, (r_disk, r_mem)
    _, a = served.index.search(queries, 10)
    _, b = in_memory.search(queries, 10)
    assert np.mean(a == b) > 0.99  # same training, same codes: the same answers

    # index add: new rows appended to the lists, the base's lists merged as they are
    more_ids = np.arange(5_000, dtype=np.int64) * 7 + 3 + (1 << 33)
    more = clustered(5_000, seed=9)
    extra = WorkDir(tmp_path / "work2")
    write_chunks(extra, more_ids, more, 2_000)
    staging2 = tmp_path / "staging2"
    staging2.mkdir()
    all_ids = stage_vectors(
        extra.chunks(),
        np.concatenate([ids, more_ids]),
        (served.ids, served.path / "vectors.npy"),
        32,
        staging2 / "vectors.npy",
    )
    np.testing.assert_array_equal(all_ids[:n], served.ids)
    grown = append_ondisk(served.index, staging2 / "vectors.npy", all_ids, staging2, False, 2_048)
    assert grown.ntotal == n + 5_000
    everything = np.load(staging2 / "vectors.npy").astype(np.float32)
    order = np.argsort(all_ids)
    assert recall_at_10(grown, queries, everything[order], all_ids[order]) >= 0.9
    assert set(grown.search(everything[n:][:50], 1)[1].ravel()) <= set(more_ids)  # new rows find themselves


def test_build_verify_and_add_an_on_disk_version(observations):
    """Through ``paperclip index``: the Ray job embeds, the lists are built on disk, verify passes,
    and ``add`` appends the new previews to the base's lists."""
    first = observations(60)
    summary = build("tiny", kind="ivfflat", progress=False)  # exact codes: tiny embeddings are close
    files = read_index_files(summary.path)
    assert (summary.path / LISTS_FILE).exists() and summary.count == 60
    assert sorted(files.ids) == sorted(first)
    assert verify(sample=2).ok
    more = observations(30, offset=500)
    grown = add(progress=False)
    files = read_index_files(grown.path, mmap=True)
    assert grown.embedded == 30 and grown.reused == 60 and grown.active
    assert list(files.ids[:60]) == list(read_index_files(summary.path).ids)  # appended after the base
    assert sorted(files.ids[60:]) == sorted(more)
    assert verify(sample=2).ok
