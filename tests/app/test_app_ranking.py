"""Pure ranking maths: reciprocal rank fusion and calibrated scores."""

from __future__ import annotations

import numpy as np
import pytest

from app.calibration import Background, NullModel, is_blank, null_images, null_texts, sample_rows
from app.fusion import K, group_ranks, ranks, rrf


def test_rrf_rewards_agreement_and_keeps_order_on_ties():
    vector = ranks(["a", "b", "c", "d"])
    text = ranks(["c", "a", "e"])
    fused = rrf([vector, text])
    assert [item for item, _ in fused] == ["a", "c", "b", "e", "d"]
    assert fused[0][1] == pytest.approx(1 / (K + 1) + 1 / (K + 2))
    assert [i for i, _ in rrf([ranks(["x", "y"]), ranks(["y", "x"])])] == ["x", "y"]  # tie: first seen


def test_rrf_weights_and_shared_ranks():
    assert [i for i, _ in rrf([ranks(["a", "b"]), ranks(["b", "a"])], weights=[1, 3])] == ["b", "a"]
    shared = group_ranks([[1, 2, 3], [4]])
    assert shared == {1: 1, 2: 1, 3: 1, 4: 2}
    with pytest.raises(ValueError):
        rrf([ranks(["a"])], weights=[1, 2])


def test_ranks_keep_first_occurrence():
    assert ranks(["a", "b", "a", "c"]) == {"a": 1, "b": 2, "c": 3}


def test_background_z_and_percentile():
    rng = np.random.default_rng(0)
    scores = rng.normal(0.2, 0.02, 10_000)
    bg = Background.of(scores)
    assert bg.z(0.26) == pytest.approx(3, abs=0.1)
    assert bg.percentile(0.2) == pytest.approx(50, abs=2)
    assert bg.percentile(1.0) == 100 and bg.percentile(-1) == 0
    assert Background.of(np.full(5, 0.3)).z(0.3) == 0  # a flat distribution does not divide by zero


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_null_model_tells_a_real_match_from_noise():
    """An archive of 20 clusters; probes and unseen noise queries are random directions. A query
    aimed at a cluster stands out from what noise scores on those same observations; noise does not."""
    rng = np.random.default_rng(0)
    centres = _unit(rng.normal(size=(20, 64)))
    vectors = _unit(np.repeat(centres, 100, axis=0) + 0.6 * rng.normal(size=(2000, 64)) / 8)
    model = NullModel.fit(vectors.astype(np.float16), _unit(rng.normal(size=(64, 64))))
    assert model.mean.shape == (2000,) and model.probes == 64 and np.isfinite(model.threshold)

    def strength(q):
        s = vectors @ q
        top = np.argsort(-s)[:200]
        return model.strength(s[top], top)

    real = [strength(_unit(c + 0.3 * rng.normal(size=64) / 8)) for c in centres]
    noise = [strength(q) for q in _unit(rng.normal(size=(40, 64)))]
    assert not any(model.weak(x) for x in real)
    assert sum(model.weak(x) for x in noise) >= 36
    assert model.weak(None) and model.strength(np.zeros(0), np.zeros(0, int)) is None


def test_null_probes_are_fixed_and_meaningless():
    assert null_texts(8) == null_texts(8) and len(set(null_texts(64))) == 64
    assert all(t.replace(" ", "").isalpha() and t.islower() for t in null_texts(64))
    images = null_images(4, size=64)
    assert all(i.shape == (64, 64, 3) and i.dtype == np.uint8 and not is_blank(i) for i in images)
    assert is_blank(np.full((32, 32, 3), 37, np.uint8)) and is_blank(np.full((8, 8), 255, np.uint8))


def test_sample_rows_is_fixed_and_sorted():
    assert list(sample_rows(5, 10)) == [0, 1, 2, 3, 4]
    s = sample_rows(1_000_000, 1000)
    assert len(s) == 1000 and np.all(np.diff(s) > 0) and np.array_equal(s, sample_rows(1_000_000, 1000))
