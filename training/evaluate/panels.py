"""Qualitative panels: contact sheets of the top images per query, and descriptions per image."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from training.evaluate.plots import save

THUMB = 96
GAP = 6


@lru_cache(maxsize=512)
def thumbnail(path: Path) -> np.ndarray:
    """A THUMB x THUMB white-padded RGB array."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((THUMB, THUMB))
        tile = Image.new("RGB", (THUMB, THUMB), "white")
        tile.paste(im, ((THUMB - im.width) // 2, (THUMB - im.height) // 2))
        return np.asarray(tile)


def mosaic(grid: Sequence[Sequence[Path | None]]) -> np.ndarray:
    """Thumbnails in rows and columns on white, one image: one imshow draws much faster than many axes."""
    rows, cols = len(grid), max((len(r) for r in grid), default=1) or 1
    out = np.full((rows * (THUMB + GAP), cols * (THUMB + GAP), 3), 255, np.uint8)
    for i, row in enumerate(grid):
        for j, path in enumerate(row):
            if path is not None:
                y, x = i * (THUMB + GAP), j * (THUMB + GAP)
                out[y : y + THUMB, x : x + THUMB] = thumbnail(path)
    return out


def contact_sheet(
    title: str, ranked: Mapping[str, Sequence[int]], images: Mapping[int, Path], path: Path
) -> Path:
    """One row per query: the query, then its top images left to right (observation ids below)."""
    grid = [[images[o] for o in ids] for ids in ranked.values()]
    sheet = mosaic(grid)
    cell = THUMB + GAP
    width, height = sheet.shape[1] / 100 + 1.6, sheet.shape[0] / 100 + 0.6
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((1.6 / width, 0.1 / height, 1 - 1.65 / width, 1 - 0.6 / height))
    ax.imshow(sheet, interpolation="nearest")
    for i, (query, ids) in enumerate(ranked.items()):
        ax.text(-GAP, (i + 0.5) * cell, textwrap.fill(query, 16), ha="right", va="center", fontsize=9)
        for j, obs in enumerate(ids):
            _badge(ax, j * cell + 2, (i + 1) * cell - GAP - 2, f"#{obs}")
    ax.axis("off")
    fig.suptitle(title, fontsize=11)
    return save(fig, path)


def _badge(ax, x: float, y: float, text: str) -> None:
    ax.text(
        x, y, text, fontsize=6, color="white", bbox={"facecolor": "black", "alpha": 0.5, "pad": 0.5, "lw": 0}
    )


def description_panel(
    title: str,
    rows: Mapping[int, Mapping[str, Sequence]],
    images: Mapping[int, Path],
    captions: Mapping[int, str],
    own: Mapping[int, int],
    path: Path,
) -> Path:
    """Per image: the top vocabulary terms and the nearest proposals' captions (its own one starred)."""
    strip = mosaic([[images[obs]] for obs in rows])
    cell = THUMB + GAP
    height = strip.shape[0] / 100 + 0.6
    fig = plt.figure(figsize=(12, height))
    ax = fig.add_axes((0.005, 0.1 / height, strip.shape[1] / 100 / 12, 1 - 0.6 / height))
    ax.imshow(strip, interpolation="nearest")
    ax.axis("off")
    for i, (obs, found) in enumerate(rows.items()):
        _badge(ax, 2, (i + 1) * cell - GAP - 2, f"#{obs}")
        terms = ", ".join(f"{t} ({s:.2f})" for t, s in found["terms"])
        lines = [textwrap.shorten("terms: " + terms, 125, placeholder=" ...")]
        for pk, score in found["proposals"]:
            star = "\u2605 " if pk == own[obs] else "  "
            lines.append(star + textwrap.shorten(f"{score:.2f}  {captions[pk]}", 123, placeholder=" ..."))
        ax.text(cell + 10, i * cell + 4, "\n".join(lines), va="top", ha="left", fontsize=7.5,
                family="monospace", clip_on=False)  # fmt: skip
    fig.suptitle(f"{title}: nearest descriptions (\u2605 = the image's own proposal)", fontsize=11)
    return save(fig, path)
