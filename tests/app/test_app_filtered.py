"""Filtered search on every index kind: min(k, matches) hits, recall@k >= 0.95 of the exact filtered
answer, for small sets (exact scoring of the allowed rows) and large ones (widened bitmap search)."""

from __future__ import annotations

import numpy as np
import pytest

from app.filtered import Filters
from app.loading import load_version
from app.metrics import Metrics
from app.runtime import Runtime
from indexer.index.kinds import make_index
from paperclip.config import Settings
from paperclip.index_files import write_index_files
from paperclip.index_meta import COLUMNS, from_rows

N, D, K = 20_000, 32, 24
# rows per cycle: the 100 of 20k, then 1%, 5%, 40% of the archive
CYCLES = {1: 100, 2: 200, 3: 1_000, 4: 8_000}


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> dict:
    """Clustered vectors (like real embeddings) with sparse ids, and a cycle per row."""
    rng = np.random.default_rng(0)
    centres = unit(rng.normal(size=(150, D)))
    vectors = unit(centres[rng.integers(0, len(centres), N + 40)] + rng.normal(size=(N + 40, D)) / np.sqrt(D))
    vectors = vectors.astype(np.float16).astype(np.float32)  # as the indexer stores them
    x, queries = vectors[:N], vectors[N:]
    ids = np.arange(N, dtype=np.int64) * 3 + 11
    cycles = np.full(N, 9, np.int64)
    order, start = rng.permutation(N), 0
    for cycle, count in CYCLES.items():
        cycles[order[start : start + count]] = cycle
        start += count
    rows = {c.name: [None] * N for c in COLUMNS if c.source is not None}
    rows["cycle"] = cycles.tolist()
    folders = {}
    for kind in ("flat", "hnsw", "ivfpq"):
        path = tmp_path_factory.mktemp("filtered") / kind
        vocab = [{"id": 1, "text": "x", "kind": "object"}]
        write_index_files(
            path,
            make_index(kind, x, ids),
            ids,
            x,
            vocab,
            x[:1],
            {"model_spec": "tiny", "kind": kind},
            from_rows(rows),
        )
        folders[kind] = path
    return {"x": x, "q": queries, "ids": ids, "cycles": np.array(from_rows(rows).columns["cycle"]), **folders}


def exact_top(archive: dict, q: np.ndarray, allowed: np.ndarray, k: int) -> set[int]:
    scores = archive["x"][allowed] @ q
    return set(archive["ids"][allowed][np.argsort(-scores, kind="stable")[:k]].tolist())


@pytest.mark.parametrize("exact_max", [20_000, 0], ids=["default", "always-widened"])
@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivfpq"])
def test_filtered_search_returns_min_k_matches_with_high_recall(archive, kind, exact_max, tmp_path):
    from paperclip.model import load_model

    settings = Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}", filter_exact_max=exact_max
    )
    rt = Runtime(settings, Metrics())
    loaded = load_version(1, lambda _files: load_model("tiny", "cpu"), archive[kind], settings.db_url)
    assert loaded.kind == kind
    for cycle in CYCLES:
        allowed = archive["cycles"] == cycle
        want = min(K, int(allowed.sum()))
        recalls = []
        for q in archive["q"]:
            found = rt.search(loaded, q, K, Filters(cycle=cycle))
            got = [i for i, _ in found]
            assert len(got) == want == len(set(got)), (kind, cycle)
            assert set(got) <= set(archive["ids"][allowed].tolist())
            scores = [s for _, s in found]
            assert scores == sorted(scores, reverse=True)
            recalls.append(len(set(got) & exact_top(archive, q, allowed, K)) / want)
        assert np.mean(recalls) >= 0.95, (kind, cycle, np.mean(recalls))
    assert rt.search(loaded, archive["q"][0], K, Filters(cycle=77)) == []  # nothing matches
    unfiltered = [i for i, _ in rt.search(loaded, archive["x"][5], 5)]
    assert unfiltered[0] == archive["ids"][5]


def test_gpu_ivf_path_reranks_ivf_candidates_exactly(archive, tmp_path):
    """The GPU IVF path's logic, driven with a CPU copy of the IVF stage in the GPU index's place:
    the same candidates, re-ranked against the float16 vectors, give the CPU index's answer."""
    import dataclasses

    import faiss

    from app.loading import GpuIvf
    from app.searching import unfiltered
    from paperclip.model import load_model

    loaded = load_version(
        1, lambda _files: load_model("tiny", "cpu"), archive["ivfpq"], f"sqlite:///{tmp_path / 'x.db'}"
    )
    refine = faiss.downcast_index(loaded.inner)
    ivf = faiss.downcast_index(refine.base_index)
    as_if_gpu = dataclasses.replace(loaded, gpu_ivf=GpuIvf(ivf, None, int(refine.k_factor)))
    cpu_scores, cpu_positions = unfiltered(loaded, archive["q"], K)
    scores, positions = unfiltered(as_if_gpu, archive["q"], K)
    exact = archive["q"] @ archive["x"].T
    for row in range(len(archive["q"])):
        assert len(set(positions[row]) & set(cpu_positions[row])) >= 0.95 * K
        np.testing.assert_allclose(scores[row], exact[row, positions[row]], atol=1e-4)  # true inner products
        assert list(scores[row]) == sorted(scores[row], reverse=True)
