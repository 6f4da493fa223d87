"""FAISS kinds: exact equals brute force, approximate kinds keep recall, ids are DB ids."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from indexer.index.kinds import choose_kind, index_ids, index_kind, ivf_params, make_index, refill
from paperclip.config import Settings


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, d: int, seed: int, clusters: int = 100) -> np.ndarray:
    """Random vectors around random centres: clustered like real embeddings, unlike isotropic noise."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(clusters, d)))
    return unit(centres[rng.integers(0, clusters, n)] + rng.normal(size=(n, d)) / np.sqrt(d))


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def test_exact_index_matches_numpy_brute_force():
    rng = np.random.default_rng(1)
    x = unit(rng.normal(size=(3000, 48)))
    ids = rng.choice(10**9, size=3000, replace=False).astype(np.int64)  # sparse DB ids, not positions
    q = unit(rng.normal(size=(25, 48)))
    scores, found = make_index("flat", x, ids).search(q, 20)
    brute = q @ x.T
    order = np.argsort(-brute, axis=1, kind="stable")[:, :20]
    np.testing.assert_array_equal(found, ids[order])
    np.testing.assert_allclose(scores, np.take_along_axis(brute, order, axis=1), rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def approximate() -> dict:
    """Each approximate kind built once over 20k clustered vectors with sparse ids, plus queries."""
    data = clustered(20_200, 64, seed=2)
    x, q = data[:20_000], data[20_000:]
    ids = np.arange(20_000, dtype=np.int64) * 7 + 3
    return {"x": x, "q": q, "ids": ids, **{kind: make_index(kind, x, ids) for kind in ("hnsw", "ivfpq")}}


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq"])
def test_approximate_recall_at_10_vs_exact_on_20k(approximate, kind):
    _, truth = make_index("flat", approximate["x"], approximate["ids"]).search(approximate["q"], 10)
    index = approximate[kind]
    assert index_kind(index) == kind
    _, found = index.search(approximate["q"], 10)
    assert recall_at_10(found, truth) >= 0.95
    np.testing.assert_array_equal(index_ids(index), approximate["ids"])


def test_search_parameters_survive_a_round_trip(approximate, tmp_path):
    for kind in ("hnsw", "ivfpq"):
        faiss.write_index(approximate[kind], str(tmp_path / kind))
    loaded = {kind: faiss.read_index(str(tmp_path / kind)) for kind in ("hnsw", "ivfpq")}
    hnsw = faiss.downcast_index(loaded["hnsw"].index)
    refine = faiss.downcast_index(loaded["ivfpq"].index)
    assert hnsw.hnsw.efSearch == 128
    assert refine.k_factor == 32 and faiss.downcast_index(refine.base_index).nprobe == ivf_params(20_000)[1]
    _, found = loaded["ivfpq"].search(approximate["x"][:5], 1)
    np.testing.assert_array_equal(found[:, 0], approximate["ids"][:5])


def test_refill_keeps_ivf_training_and_swaps_contents(approximate):
    x, ids = approximate["x"], approximate["ids"]
    second = refill(approximate["ivfpq"], x[5_000:], ids[5_000:])
    assert approximate["ivfpq"].ntotal == 20_000 and second.ntotal == 15_000
    assert set(index_ids(second)) == set(ids[5_000:].tolist())
    _, found = second.search(x[19_990:], 1)
    np.testing.assert_array_equal(found[:, 0], ids[19_990:])
    _, stale = second.search(x[:10], 1)
    assert not set(stale[:, 0]) & set(ids[:5_000].tolist())


def test_kind_choice_and_clear_errors():
    assert choose_kind("auto", 10, exact_max=100, hnsw_max=1000) == "flat"
    assert choose_kind("auto", 101, exact_max=100, hnsw_max=1000) == "hnsw"
    assert choose_kind("auto", 1001, exact_max=100, hnsw_max=1000) == "ivfpq"
    assert choose_kind("hnsw", 10, exact_max=100, hnsw_max=1000) == "hnsw"
    defaults = Settings()  # the service's speed targets: a full scan only while it stays cheap
    assert choose_kind("auto", 100_000, defaults.index_exact_max, defaults.index_hnsw_max) == "hnsw"
    with pytest.raises(ValueError, match="unknown index kind"):
        choose_kind("annoy", 10, exact_max=100, hnsw_max=1000)
    with pytest.raises(ValueError, match="at least 10,000 vectors"):
        make_index("ivfpq", clustered(500, 64, seed=5), np.arange(500))
    nlist, nprobe = ivf_params(1_000_000)
    assert nlist == 4000 and 8 <= nprobe <= 256
