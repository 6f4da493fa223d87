"""Image + text query vectors."""

from __future__ import annotations

import numpy as np
import pytest

from app.compose import compose, parse_terms


@pytest.mark.parametrize(
    ("text", "added", "minus"),
    [
        ('but edge-on -"dust lanes"', "but edge-on", ["dust lanes"]),
        ("with dust lanes", "with dust lanes", []),
        ('-"bright core" -halo', None, ["bright core", "halo"]),
        ("face-on spiral", "face-on spiral", []),  # a hyphen inside a word is not a minus
        ("  ", None, []),
    ],
)
def test_parse_terms(text, added, minus):
    assert parse_terms(text) == (added, minus)


def test_compose_moves_towards_and_away():
    basis = np.eye(4, dtype=np.float32)
    texts = {"edge-on": basis[1], "dust": basis[2]}
    image = basis[0] * 3
    v = compose(image, "edge-on", ["dust"], 0.5, texts.__getitem__)
    assert np.linalg.norm(v) == pytest.approx(1)
    assert v[1] > 0 and v[2] < 0 and v[0] > v[1]
    assert np.allclose(compose(image, None, [], 0.5, texts.__getitem__), basis[0])
    assert np.allclose(compose(image, "edge-on", [], 0.0, texts.__getitem__), basis[0])
