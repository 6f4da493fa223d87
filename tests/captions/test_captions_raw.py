"""The raw variant: caption format and the sentence-window sampler."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.captions.raw import raw_caption, sentence_window, split_sentences


def _abstracts(hst_mini) -> list[str]:
    return (hst_mini / "abstracts_noid.txt").read_text().splitlines()


def test_raw_caption_format():
    assert (
        raw_caption("Galaxies", "Spiral  arms\tform stars.") == "Category: Galaxies. Spiral arms form stars."
    )
    assert raw_caption("HOT STARS.", "A b.") == "Category: HOT STARS. A b."
    assert raw_caption(None, " Only the abstract. ") == "Only the abstract."
    assert raw_caption("", "x.") == "x."


def test_split_keeps_abbreviations_and_decimals():
    text = "We use e.g. deep images at z=7.5 here. Smith et al. 2020 disagree! Is it so? (Yes) it is."
    assert split_sentences(text) == [
        "We use e.g. deep images at z=7.5 here.",
        "Smith et al. 2020 disagree!",
        "Is it so?",
        "(Yes) it is.",
    ]


def test_window_fits_clip_context_on_real_abstracts(hst_mini):
    """77 CLIP tokens (open_clip's BPE tokenizer, plus start/end tokens) on all 112 real abstracts."""
    from open_clip.tokenizer import SimpleTokenizer

    tok = SimpleTokenizer()

    def fits(text: str) -> bool:
        return len(tok.encode(text)) + 2 <= 77

    rng = random.Random(0)
    longer = 0
    for line in _abstracts(hst_mini):
        category, abstract = re.match(r"Category: (.*?)\.\s+(.*)", line).groups()
        text = raw_caption(category, abstract)
        sentences = split_sentences(text)
        longer += not fits(text)
        for window in (sentence_window(text, fits), sentence_window(text, fits, rng)):
            assert window and fits(window)
            assert window in " ".join(sentences)
        first = sentence_window(text, fits)
        assert first.startswith(sentences[0][:20])
        if fits(sentences[0]):
            assert first.endswith(tuple(sentences))  # whole sentences
    assert longer > 100  # nearly every real abstract needs the window


def test_window_is_deterministic_without_rng_and_covers_the_text_over_draws(hst_mini):
    text = _abstracts(hst_mini)[0]

    def fits(s: str) -> bool:
        return len(s.split()) <= 40

    assert len({sentence_window(text, fits) for _ in range(5)}) == 1
    rng = random.Random(1)
    seen = " ".join(sentence_window(text, fits, rng) for _ in range(200))
    assert all(s in seen for s in split_sentences(text))


def test_overlong_sentence_is_cut_at_a_word():
    text = "one two three four five six seven eight. Short one."
    window = sentence_window(text, lambda s: len(s) <= 14)
    assert window == "one two three"
    assert sentence_window("", lambda s: True) == ""


words = st.text(alphabet="bdghjkpw", min_size=2, max_size=8)  # no abbreviations, no initials
sentences = st.lists(words, min_size=1, max_size=12).map(lambda ws: " ".join(ws).capitalize() + ".")


@settings(max_examples=60, deadline=None)
@given(st.lists(sentences, min_size=1, max_size=15), st.integers(5, 80), st.integers(0, 10**6))
def test_window_properties(parts, budget, seed):
    """Never over budget; whole consecutive sentences unless one sentence alone is too long."""
    text = " ".join(parts)

    def fits(s: str) -> bool:
        return len(s) <= budget

    for window in (sentence_window(text, fits), sentence_window(text, fits, random.Random(seed))):
        assert fits(window)
        got = split_sentences(window)
        if any(fits(p) for p in parts) and window.endswith("."):
            joined = " ".join(got)
            assert any(" ".join(parts[i : i + len(got)]) == joined for i in range(len(parts)))
        else:
            assert text.replace(".", "").find(window.rstrip(".")) >= 0


@pytest.mark.parametrize("budget", [30, 200])
def test_deterministic_window_is_greedy(budget):
    text = "Alpha beta gamma. Delta epsilon. Zeta eta theta iota. Kappa."
    window = sentence_window(text, lambda s: len(s) <= budget)
    rest = text[len(window) :].strip()
    assert len(window) <= budget
    if rest:
        assert len(window + " " + split_sentences(rest)[0]) > budget
