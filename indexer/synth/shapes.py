"""Astronomical building blocks drawn onto a ``Frame``: profiles, star populations, curves.

Coordinates are canvas pixels relative to the canvas centre; fluxes are in sky-noise units.
Extended profiles are evaluated only inside a window around the source, so hundreds of
small galaxies cost little.
"""

from __future__ import annotations

import numpy as np

from indexer.synth.render import SIZE, Frame

Rng = np.random.Generator


def window(cx: float, cy: float, radius: float) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray] | None:
    """Slices of the canvas within ``radius`` of a point, and local grids centred on it."""
    half = SIZE / 2
    x0, x1 = int(max(0, cx + half - radius)), int(min(SIZE, cx + half + radius + 1))
    y0, y1 = int(max(0, cy + half - radius)), int(min(SIZE, cy + half + radius + 1))
    if x0 >= x1 or y0 >= y1:
        return None
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] - half - cx
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] - half - cy
    return (slice(y0, y1), slice(x0, x1)), xs, ys


def rotate(xs: np.ndarray, ys: np.ndarray, pa: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.cos(pa), np.sin(pa)
    return c * xs + s * ys, -s * xs + c * ys


def sersic(
    frame: Frame,
    cx: float,
    cy: float,
    re: float,
    n: float,
    q: float,
    pa: float,
    peak: float,
    extent: float = 6,
) -> None:
    """A Sersic profile (n=1 disk, n=4 elliptical) with its peak surface brightness at the centre."""
    win = window(cx, cy, extent * re)
    if win is None:
        return
    sl, xs, ys = win
    u, v = rotate(xs, ys, pa)
    r = np.sqrt(u * u + (v / q) ** 2) / re
    bn = 2 * n - 1 / 3
    frame.diffuse[sl] += peak * np.exp(-bn * (np.power(r + 1e-3, 1 / n)))


def spiral_disk(
    frame: Frame,
    cx: float,
    cy: float,
    scale: float,
    q: float,
    pa: float,
    peak: float,
    arms: int,
    pitch: float,
    phase: float,
    r_in: float = 0.0,
    contrast: float = 0.8,
) -> None:
    """An exponential disk whose light is gathered into logarithmic spiral arms."""
    win = window(cx, cy, 5.5 * scale)
    if win is None:
        return
    sl, xs, ys = win
    u, v = rotate(xs, ys, pa)
    v = v / q
    r = np.sqrt(u * u + v * v) + 1e-3
    theta = np.arctan2(v, u)
    wind = np.log(np.maximum(r, r_in + 1) / scale) / np.tan(pitch)
    arm = 0.5 * (1 + np.cos(arms * (theta - wind - phase)))
    ring = 1 / (1 + np.exp(-(r - r_in) / 3)) if r_in else 1
    frame.diffuse[sl] += peak * np.exp(-r / scale) * ((1 - contrast) + contrast * arm**3) * ring


def arm_knots(
    rng: Rng,
    frame: Frame,
    cx: float,
    cy: float,
    scale: float,
    q: float,
    pa: float,
    arms: int,
    pitch: float,
    phase: float,
    n: int,
    flux: float,
    r_in: float = 0.0,
) -> None:
    """Star-forming knots strung along the arms of ``spiral_disk`` (same parameters)."""
    r = r_in + scale * rng.gamma(2.0, 0.9, n)
    k = rng.integers(0, arms, n)
    theta = phase + np.log(np.maximum(r, r_in + 1) / scale) / np.tan(pitch) + 2 * np.pi * k / arms
    theta += rng.normal(0, 0.12, n)
    u, v = r * np.cos(theta), r * np.sin(theta) * q
    c, s = np.cos(pa), np.sin(pa)
    frame.add_points(cx + c * u - s * v, cy + s * u + c * v, flux * rng.pareto(2.0, n))


def king_radii(rng: Rng, n: int, core: float, tidal: float) -> np.ndarray:
    """Radii following a Plummer-like profile truncated at ``tidal``."""
    u = rng.uniform(0, 0.98, n)
    r = core / np.sqrt(u ** (-2 / 3) - 1)
    return np.minimum(r, tidal * rng.uniform(0.7, 1.0, n))


def cluster(
    rng: Rng, frame: Frame, cx: float, cy: float, n: int, core: float, tidal: float, flux: float, slope: float
) -> None:
    """A centrally concentrated star cluster with a power-law luminosity function."""
    r = king_radii(rng, n, core, tidal)
    t = rng.uniform(0, 2 * np.pi, n)
    frame.add_points(cx + r * np.cos(t), cy + r * np.sin(t), flux * (rng.pareto(slope, n) + 0.2))


def uniform_stars(rng: Rng, frame: Frame, n: int, flux: float, slope: float = 1.6) -> None:
    """Stars scattered over the whole canvas (field stars, bulge fields)."""
    xy = rng.uniform(-SIZE / 2, SIZE / 2, (2, n))
    frame.add_points(xy[0], xy[1], flux * (rng.pareto(slope, n) + 0.3))


def field_galaxies(rng: Rng, frame: Frame, n: int, size: float, peak: float) -> None:
    """Faint background galaxies of mixed shapes."""
    for _ in range(n):
        cx, cy = rng.uniform(-SIZE / 2, SIZE / 2, 2)
        re = size * rng.lognormal(0, 0.45)
        sersic(
            frame,
            cx,
            cy,
            re,
            rng.choice([1.0, 1.0, 2.5, 4.0]),
            rng.uniform(0.25, 1.0),
            rng.uniform(0, np.pi),
            peak * rng.lognormal(0, 0.6),
            extent=4,
        )


def curve(
    rng: Rng,
    frame: Frame,
    x: np.ndarray,
    y: np.ndarray,
    flux: np.ndarray | float,
    width: np.ndarray | float,
    samples: int = 6,
) -> None:
    """Extended light along a sampled curve, spread across ``width`` pixels (tails, arcs, jets)."""
    n = np.size(x)
    x = np.repeat(np.asarray(x, np.float32), samples)
    y = np.repeat(np.asarray(y, np.float32), samples)
    f = np.repeat(np.broadcast_to(np.asarray(flux, np.float32), (n,)), samples) / samples
    w = np.repeat(np.broadcast_to(np.asarray(width, np.float32), (n,)), samples)
    frame.add_diffuse(x + rng.normal(0, 1, x.size) * w, y + rng.normal(0, 1, x.size) * w, f)


def ring(
    rng: Rng,
    frame: Frame,
    cx: float,
    cy: float,
    radius: float,
    q: float,
    pa: float,
    width: float,
    flux: float,
    n: int,
    clumpy: float = 0.0,
) -> None:
    """An elliptical shell seen in projection; ``clumpy`` breaks it into filaments."""
    t = rng.uniform(0, 2 * np.pi, n)
    f = np.full(n, flux / n * 2000, np.float32)
    if clumpy:
        modes = rng.integers(3, 12, 4)
        weights = sum(np.cos(m * t + rng.uniform(0, 2 * np.pi)) for m in modes) / 4
        f *= np.clip(1 + clumpy * 2 * weights, 0, None)
    rr = radius * (1 + rng.normal(0, width / radius, n))
    u, v = rr * np.cos(t), rr * np.sin(t) * q
    c, s = np.cos(pa), np.sin(pa)
    frame.add_diffuse(cx + c * u - s * v, cy + s * u + c * v, f)
