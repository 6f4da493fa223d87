"""Metric functions against hand-computed cases, brute-force tie orders and random embeddings."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from training.evaluate import metrics as M
from training.evaluate.queries import class_query


def stats(scores, positives=None) -> M.RankStats:
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.eye(*scores.shape, dtype=bool) if positives is None else np.asarray(positives, bool)
    return M.RankStats.from_scores(scores, positives)


def test_known_ranks():
    # own scores on the diagonal rank 1, 3 and 2
    s = stats([[0.9, 0.1, 0.5], [0.8, 0.2, 0.3], [0.1, 0.7, 0.6]])
    assert s.expected_rank().tolist() == [1, 3, 2]
    out = M.retrieval_metrics(s)
    assert out["recall_at_1"] == pytest.approx(1 / 3)
    assert out["recall_at_5"] == 1.0
    assert out["median_rank"] == 2
    assert out["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 2) / 3)
    # N = 3: cutoff 1 for k < 67 (floor, at least 1), 2 for 67..99, 3 at 100
    assert out["top_k_accuracy"]["1"] == pytest.approx(1 / 3)
    assert out["top_k_accuracy"]["66"] == pytest.approx(1 / 3)
    assert out["top_k_accuracy"]["67"] == pytest.approx(2 / 3)
    assert out["top_k_accuracy"]["100"] == 1.0
    assert out["auc"] == pytest.approx((66 / 3 + 33 * 2 / 3 + 1) / 100)


def test_percent_cutoff_is_the_papers_floor():
    assert M.percent_cutoff(10, 250) == 25
    assert M.percent_cutoff(1, 250) == 2  # floor(2.5)
    assert M.percent_cutoff(1, 50) == 1  # floor(0.5) = 0, raised to the top-1


def test_ties_count_as_a_random_order():
    # own pair (col 0) tied with one negative, nothing above: rank 1 or 2 with equal odds
    s = stats([[0.5, 0.5, 0.1]], [[True, False, False]])
    assert s.hit_probability(1).tolist() == [0.5]
    assert s.expected_rank().tolist() == [1.5]
    assert s.expected_reciprocal_rank() == pytest.approx([0.75])
    # one negative above, two tied: ranks 2, 3, 4 equally likely
    s = stats([[0.5, 0.9, 0.5, 0.5, 0.0]], [[True, False, False, False, False]])
    assert [s.hit_probability(c)[0] for c in (1, 2, 3, 4)] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert s.expected_rank() == pytest.approx([3])
    assert s.expected_reciprocal_rank() == pytest.approx([(1 / 2 + 1 / 3 + 1 / 4) / 3])


def test_duplicate_captions_strict_vs_any_caption():
    # images 0 and 1 share a proposal and one caption text, so their caption columns tie
    scores = np.array([[0.8, 0.8, 0.8], [0.7, 0.7, 0.1], [0.2, 0.2, 0.9]])
    strict, any_caption = M.positive_masks(np.array([7, 7, 9]), np.array([7, 7, 9]))
    assert any_caption.tolist() == [[True, True, False], [True, True, False], [False, False, True]]
    s = stats(scores, strict)
    assert s.hit_probability(1).tolist() == pytest.approx([1 / 3, 0.5, 1.0])
    d = stats(scores, any_caption)
    # row 0: two positives and one negative tied: first positive at slot 1 w.p. 2/3, slot 2 w.p. 1/3
    assert d.hit_probability(1).tolist() == pytest.approx([2 / 3, 1.0, 1.0])
    assert d.expected_rank().tolist() == pytest.approx([4 / 3, 1, 1])
    assert d.expected_reciprocal_rank() == pytest.approx([2 / 3 + 1 / 6, 1, 1])


def brute_force(scores: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of the first positive under every tie order, averaged: (P(rank <= c) per c, E[1/rank])."""
    q, c = scores.shape
    hits, rr = np.zeros((q, c)), np.zeros(q)
    perms = list(itertools.permutations(range(c)))
    for i in range(q):
        for perm in perms:  # a random tie order = a uniformly random secondary key
            order = sorted(range(c), key=lambda j, perm=perm, i=i: (-scores[i, j], perm[j]))
            rank = next(r for r, j in enumerate(order, 1) if positives[i, j])
            hits[i, rank - 1 :] += 1
            rr[i] += 1 / rank
    return hits / len(perms), rr / len(perms)


@settings(max_examples=40, deadline=None)
@given(
    scores=arrays(np.int8, (3, 5), elements=st.integers(0, 2)),
    positives=arrays(np.bool_, (3, 5)),
)
def test_expectations_match_every_tie_order(scores, positives):
    positives[np.arange(3), np.arange(3)] = True
    s = M.RankStats.from_scores(scores.astype(float), positives)
    hits, rr = brute_force(scores, positives)
    for cutoff in range(1, 6):
        np.testing.assert_allclose(s.hit_probability(cutoff), hits[:, cutoff - 1], atol=1e-9)
    np.testing.assert_allclose(s.expected_reciprocal_rank(), rr, atol=1e-9)


def random_unit(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_random_embeddings_give_k_percent_at_top_k_percent(seed):
    rng = np.random.default_rng(seed)
    n = 1000  # the hit share at k% has sd <= 0.016: 0.07 is > 4 sd
    images, texts = random_unit(n, 32, rng), random_unit(n, 32, rng)
    curve = M.top_k_accuracy(stats(images @ texts.T))
    for k in (10, 25, 50, 75, 90):
        assert curve[k] == pytest.approx(k / 100, abs=0.07)
    assert M.curve_auc(curve) == pytest.approx(0.5, abs=0.04)


def test_perfect_model_scores_one():
    emb = random_unit(50, 64, np.random.default_rng(0))
    out = M.retrieval_metrics(stats(emb @ emb.T))
    assert out["auc"] == 1.0
    assert all(v == 1.0 for v in out["top_k_accuracy"].values())
    assert out["recall_at_1"] == out["mrr"] == 1.0
    assert out["median_rank"] == 1.0


def test_collapsed_model_scores_chance_not_perfect():
    out = M.retrieval_metrics(stats(np.ones((40, 40))))
    assert out["auc"] == pytest.approx(0.5, abs=0.02)
    assert out["recall_at_1"] == pytest.approx(1 / 40)
    assert out["median_rank"] == pytest.approx(20.5)


def test_precision_and_ndcg_hand_cases():
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    relevant = np.array([True, False, True, False])
    assert M.precision_at_k(scores, relevant, 2) == 0.5
    assert M.ndcg_at_k(scores, relevant, 2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert M.ndcg_at_k(scores, relevant, 4) == pytest.approx((1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))
    assert M.precision_at_k(scores, ~relevant | relevant, 10) == 1.0  # fewer than k: share of all
    # a tie across the cutoff counts its relevant share
    assert M.precision_at_k(np.array([1.0, 0.5, 0.5]), np.array([True, True, False]), 2) == 0.75
    assert M.ndcg_at_k(scores, np.zeros(4, bool), 10) == 0.0


def test_similarity_gap_separates_matched_from_shuffled():
    rng = np.random.default_rng(1)
    images = random_unit(60, 16, rng)
    texts = images + 0.3 * random_unit(60, 16, rng)
    texts /= np.linalg.norm(texts, axis=1, keepdims=True)
    groups = np.arange(60) // 3
    out = M.similarity_gap(images, texts, groups, seed=0)
    assert out["matched_mean"] > 0.8
    assert abs(out["shuffled_mean"]) < 0.15
    assert out["gap"] == pytest.approx(out["matched_mean"] - out["shuffled_mean"])
    assert len(out["shuffled"]) > 0
    again = M.similarity_gap(images, texts, groups, seed=0)
    np.testing.assert_array_equal(out["shuffled"], again["shuffled"])


def test_class_query_from_label():
    from paperclip.vocabulary import load_vocabulary

    term = next(t for t in load_vocabulary() if "-" in t.text or " " in t.text)
    label = term.text.upper().replace(" ", "_").replace("-", "_")  # e.g. CORE_COLLAPSE_SUPERNOVA
    assert class_query(label) == term.text
    with_synonym = next(t for t in load_vocabulary() if t.synonyms)
    assert class_query(with_synonym.synonyms[0].replace(" ", "_")) == with_synonym.text
    assert class_query("zz_unlisted__blob-class") == "zz unlisted blob-class"


def test_pair_retrieval_is_both_directions_strict_and_any_caption():
    emb = random_unit(12, 16, np.random.default_rng(1))
    groups = np.repeat(np.arange(4), 3)
    scores = emb @ emb.T
    out = M.pair_retrieval(scores, groups)
    assert out["image_to_text"]["auc"] == M.retrieval_metrics(stats(scores))["auc"]
    assert out["text_to_image"]["mrr"] == M.retrieval_metrics(stats(scores.T))["mrr"]
    any_caption = groups[:, None] == groups[None, :]
    assert out["image_to_text"]["duplicate_aware"] == M.retrieval_metrics(stats(scores, any_caption))


def test_in_batch_accuracy_is_the_released_codes_top_k_in_batches():
    rng = np.random.default_rng(2)
    text, image = random_unit(250, 8, rng), random_unit(250, 8, rng)
    # by hand: full batches of 100 (the last 50 dropped), true image within the top 10 of its row
    hits = []
    for start in (0, 100):
        s = text[start : start + 100] @ image[start : start + 100].T
        hits += [(s[i] > s[i, i]).sum() < 10 for i in range(100)]
    assert M.in_batch_accuracy(text, image, 100, 10) == pytest.approx(np.mean(hits))
    assert M.in_batch_accuracy(text, text, 100, 1) == 1.0
    assert M.in_batch_accuracy(text[:30], image[:30], 100, 30) == 1.0  # fewer rows: one batch of all
    assert M.in_batch_accuracy(np.ones((100, 2)), np.ones((100, 2)), 100, 10) == pytest.approx(0.1)  # ties


def test_bootstrap_resamples_proposals_not_pairs():
    """Ten proposals of 50 identical values each: the interval reflects 10 draws, not 500."""
    values = np.repeat(np.arange(10, dtype=float), 50)
    groups = np.repeat(np.arange(100, 110), 50)
    boot = M.Bootstrap(groups, resamples=2000, seed=0)
    lo, hi = M.interval(boot.mean(values, groups))
    sd = np.std(np.arange(10)) / np.sqrt(10)  # the standard error with 10 independent units
    assert lo < 4.5 < hi
    assert hi - lo == pytest.approx(2 * 1.96 * sd, rel=0.15)
    assert M.Bootstrap(groups, 2000, 0).counts.tolist() == boot.counts.tolist()  # seeded
    median = M.interval(boot.median(values, groups))
    assert median[0] <= 4 <= median[1]
    assert M.interval(np.array([np.nan, np.nan])) is None


def test_retrieval_samples_match_the_reported_metrics():
    emb = random_unit(40, 8, np.random.default_rng(3))
    noisy = emb + 0.8 * random_unit(40, 8, np.random.default_rng(4))
    groups = np.repeat(np.arange(20), 2)
    st_ = stats(emb @ noisy.T)
    boot = M.Bootstrap(groups, resamples=300, seed=1)
    samples = M.retrieval_samples(st_, boot, groups)
    point = M.retrieval_metrics(st_)
    assert set(samples) == {f"top_k_accuracy.{k}" for k in M.PERCENTS} | {
        "auc", "recall_at_1", "recall_at_5", "recall_at_10", "median_rank", "mrr"
    }  # fmt: skip
    for key in ("auc", "recall_at_5", "mrr"):
        lo, hi = M.interval(samples[key])
        assert lo <= point[key] <= hi and hi - lo > 0
    # with every proposal drawn once, the resampled figures are the reported ones
    once = M.Bootstrap(groups, resamples=1, seed=0)
    once.counts[:] = 1
    again = M.retrieval_samples(st_, once, groups)
    assert again["auc"][0] == pytest.approx(point["auc"])
    assert again["top_k_accuracy.10"][0] == pytest.approx(point["top_k_accuracy"]["10"])
