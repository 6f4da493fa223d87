"""Image + text queries: this image, "but edge-on", minus "dust lanes".

The query vector is the image's embedding moved towards the text to add and away from the terms to
subtract, ``normalise(image + w * (added - subtracted))``, each text embedded on its own and
normalised first, so ``w`` (0..1) reads the same whatever the texts: 0 is the image alone, 1
gives the text as much say as the image.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

DEFAULT_WEIGHT = 0.5
_MINUS = re.compile(r'(?:^|\s)-"([^"]+)"|(?:^|\s)-(\w[\w-]*)')


def parse_terms(text: str) -> tuple[str | None, list[str]]:
    """(text to add, terms to subtract): ``-"dust lanes"`` and ``-halo`` are subtracted, the rest
    (whitespace collapsed) is added."""
    minus = [a or b for a, b in _MINUS.findall(text)]
    rest = " ".join(_MINUS.sub(" ", text).split())
    return (rest or None), [m.strip() for m in minus if m.strip()]


def compose(
    image: np.ndarray,
    added: str | None,
    subtracted: Sequence[str],
    weight: float,
    embed: Callable[[str], np.ndarray],
) -> np.ndarray:
    """The query vector of an image with text added and terms subtracted (unit length)."""
    v = np.asarray(image, np.float32).reshape(-1)
    v = v / (np.linalg.norm(v) or 1.0)
    shift = np.zeros_like(v)
    if added:
        shift += _unit(embed(added))
    for term in subtracted:
        shift -= _unit(embed(term)) / len(subtracted)
    out = v + weight * shift
    return out / (np.linalg.norm(out) or 1.0)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32).reshape(-1)
    return x / (np.linalg.norm(x) or 1.0)
