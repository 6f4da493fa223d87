"""Hub-free description retrieval: each term's hubness against a bank of archive images."""

from __future__ import annotations

from collections import Counter

import numpy as np

from paperclip import description_bank
from paperclip.description_bank import bank_rows, normalise, term_hubness
from paperclip.query_embedding import unit


def test_hubness_is_the_bank_mean_or_the_mean_of_each_terms_k_best(monkeypatch):
    rng = np.random.default_rng(0)
    images, terms = unit(rng.normal(size=(300, 16))), unit(rng.normal(size=(7, 16)))
    expected = np.sort(terms @ images.T, axis=1)[:, -5:].mean(axis=1)
    assert np.allclose(term_hubness(images, terms), (terms @ images.T).mean(axis=1), atol=1e-6)  # whole bank
    assert np.allclose(term_hubness(images, terms, k=5), expected, atol=1e-6)
    monkeypatch.setattr(description_bank, "CHUNK", 64)  # read in chunks: the same answer
    assert np.allclose(term_hubness(images.astype(np.float16), terms, k=5), expected, atol=2e-3)
    assert np.allclose(term_hubness(images[:3], terms, k=5), (terms @ images[:3].T).mean(axis=1), atol=1e-6)
    assert term_hubness(np.zeros((0, 16)), terms).shape == (7,)
    assert normalise(np.ones(7), None) is not None and np.allclose(normalise(np.ones(7), np.ones(7)), 0)


def test_bank_is_every_row_or_a_fixed_sample():
    assert np.array_equal(bank_rows(10, size=20), np.arange(10))
    sample = bank_rows(1000, size=100)
    assert (
        len(sample) == 100
        and np.all(np.diff(sample) > 0)
        and np.array_equal(sample, bank_rows(1000, size=100))
    )


def test_normalisation_takes_a_hub_off_the_top():
    """Eight classes of images, one term per class, and a generic term close to every image:
    by bare cosine the generic term comes first for nearly every image; normalised, for far fewer,
    and the class terms come first instead."""
    rng = np.random.default_rng(1)
    d, classes = 64, 8
    centres, hub = unit(rng.normal(size=(classes, d))), unit(rng.normal(size=d))
    label = np.repeat(np.arange(classes), 40)
    images = unit(0.6 * centres[label] + hub + 1.5 * rng.normal(size=(len(label), d)) / np.sqrt(d))
    terms = unit(np.vstack([centres, hub]))  # term `classes` is the hub
    cos = images @ terms.T
    normalised = normalise(cos, term_hubness(images, terms))
    before = Counter(np.argmax(cos, axis=1))[classes] / len(images)
    after = Counter(np.argmax(normalised, axis=1))[classes] / len(images)
    assert before > 0.8 and after < before / 2
    assert np.mean(np.argmax(normalised, axis=1) == label) > 0.5 > np.mean(np.argmax(cos, axis=1) == label)
