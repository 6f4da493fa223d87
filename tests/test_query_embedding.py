"""The one place a text query becomes a vector: shapes, unit length, and what each option does."""

from __future__ import annotations

import numpy as np
import pytest

from paperclip.config import Settings
from paperclip.query_embedding import PROMPTS, QueryOptions, combine, embed_queries, prompt_texts, unit

QUERIES = ["bright ring of light around a galaxy", "comet with a long tail", "zzzz"]
TERMS = ["gravitational lensing", "comets", "globular clusters", "spiral galaxies", "supernova remnants"]


def norms(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x, axis=-1)


@pytest.mark.parametrize(
    "options",
    [
        QueryOptions(),
        QueryOptions(PROMPTS),
        QueryOptions(expand_terms=3, expand_weight=0.3),
        QueryOptions(PROMPTS, 5, 0.5),
    ],
)
def test_unit_vectors_one_per_query(tiny_model, options):
    vocab = tiny_model.encode_text(TERMS)
    out = embed_queries(tiny_model.encode_text, QUERIES, vocab, options)
    assert out.shape == (len(QUERIES), tiny_model.dim) and out.dtype == np.float32
    assert np.allclose(norms(out), 1, atol=1e-5)
    assert embed_queries(tiny_model.encode_text, [], vocab, options).shape[0] == 0


def test_baseline_is_the_query_as_typed(tiny_model):
    out = embed_queries(tiny_model.encode_text, QUERIES, None, QueryOptions())
    assert np.allclose(out, unit(tiny_model.encode_text(QUERIES)), atol=1e-6)


def test_prompt_ensemble_is_the_normalised_mean_of_its_forms(tiny_model):
    options = QueryOptions(PROMPTS)
    forms = prompt_texts("comet", options)
    assert forms == ["comet", "an image of comet", "a Hubble observation of comet"]
    expected = unit(unit(tiny_model.encode_text(forms)).mean(axis=0))
    assert np.allclose(
        embed_queries(tiny_model.encode_text, ["comet"], None, options)[0], expected, atol=1e-6
    )


def test_expansion_pulls_toward_the_nearest_terms(tiny_model):
    vocab = tiny_model.encode_text(TERMS)
    q = unit(tiny_model.encode_text(["comet with a long tail"]))
    nearest = int(np.argmax(unit(vocab) @ q[0]))
    blended = combine(q, vocab, QueryOptions(expand_terms=2, expand_weight=0.5))
    assert unit(vocab)[nearest] @ blended > unit(vocab)[nearest] @ q[0]
    only = combine(q, vocab, QueryOptions(expand_terms=1, expand_weight=1.0))
    assert np.allclose(only, unit(vocab)[nearest], atol=1e-6)  # weight 1, one term: the term itself
    assert np.allclose(combine(q, vocab, QueryOptions(expand_terms=3)), q[0])  # weight 0: off
    assert np.allclose(
        combine(q, np.zeros((0, q.shape[1])), QueryOptions(expand_terms=3, expand_weight=0.5)), q[0]
    )


def test_options_are_checked_and_read_from_settings():
    with pytest.raises(ValueError):
        QueryOptions(("an image of",))
    with pytest.raises(ValueError):
        QueryOptions(expand_terms=2, expand_weight=1.5)
    s = Settings(query_prompts=True, query_expand_terms=4, query_expand_weight=0.25)
    assert QueryOptions.from_settings(s) == QueryOptions(PROMPTS, 4, 0.25)
    assert QueryOptions.from_settings(Settings()).prompts == ("{}",)
