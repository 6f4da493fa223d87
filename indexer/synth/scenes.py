"""The synthetic archive's classes: one drawing function per kind of target.

Each ``draw_*`` takes the frame, ``obj`` (a generator seeded by the proposal, so every image
of one proposal shows the same object) and ``img`` (seeded by the image: what varies between
exposures), and the object's centre on the canvas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from indexer.synth.render import Frame
from indexer.synth.shapes import (
    Rng,
    arm_knots,
    cluster,
    curve,
    field_galaxies,
    ring,
    rotate,
    sersic,
    spiral_disk,
    uniform_stars,
    window,
)

Draw = Callable[[Frame, Rng, Rng, float, float], None]


def draw_spiral(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    scale, q, pa = obj.uniform(26, 48), obj.uniform(0.5, 1.0), obj.uniform(0, np.pi)
    arms, pitch, phase = int(obj.choice([2, 2, 3])), obj.uniform(0.25, 0.42), obj.uniform(0, 2 * np.pi)
    sersic(frame, cx, cy, scale * 0.22, 2.5, q, pa, 260)
    spiral_disk(frame, cx, cy, scale, q, pa, 70, arms, pitch, phase, contrast=0.85)
    arm_knots(obj, frame, cx, cy, scale, q, pa, arms, pitch, phase, 80, 25)


def draw_barred_spiral(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    scale, q, pa = obj.uniform(26, 44), obj.uniform(0.6, 1.0), obj.uniform(0, np.pi)
    bar_len = scale * obj.uniform(1.0, 1.5)
    phase, pitch = obj.uniform(0, 2 * np.pi), obj.uniform(0.22, 0.35)
    sersic(frame, cx, cy, scale * 0.18, 2.5, q, pa, 260)
    u, v = np.cos(phase) * bar_len * 0.5, np.sin(phase) * bar_len * 0.5 * q
    bar_pa = np.arctan2(np.sin(pa) * u + np.cos(pa) * v, np.cos(pa) * u - np.sin(pa) * v)
    sersic(frame, cx, cy, bar_len * 0.55, 0.5, 0.22, bar_pa, 120)
    spiral_disk(frame, cx, cy, scale, q, pa, 60, 2, pitch, phase, r_in=bar_len, contrast=0.92)
    arm_knots(obj, frame, cx, cy, scale, q, pa, 2, pitch, phase, 50, 25, r_in=bar_len)


def draw_elliptical(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    re, q, pa = obj.uniform(22, 45), obj.uniform(0.55, 1.0), obj.uniform(0, np.pi)
    sersic(frame, cx, cy, re, 4.0, q, pa, 30000, extent=8)
    cluster(obj, frame, cx, cy, int(obj.integers(30, 90)), re * 2, re * 6, 6, 2.5)  # its globular clusters


def draw_edge_on(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    re, q, pa = obj.uniform(55, 95), obj.uniform(0.07, 0.12), obj.uniform(0, np.pi)
    sersic(frame, cx, cy, re, 1.0, q, pa, 260, extent=4)
    sersic(frame, cx, cy, re * 0.18, 2.0, 0.7, pa, 260)
    win = window(cx, cy, re * 4)
    if win is not None:  # the dust lane: dark along the midplane, patchy along the disk
        sl, xs, ys = win
        u, v = rotate(xs, ys, pa)
        width = re * q * obj.uniform(0.2, 0.35)
        patch = 0.8 + 0.2 * np.cos(u / re * obj.uniform(6, 14) + obj.uniform(0, 6))
        frame.diffuse[sl] *= 1 - 0.92 * patch * np.exp(-((v - width * 0.3) ** 2) / (2 * width**2))


def draw_dwarf_irregular(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    size = obj.uniform(35, 70)
    clumps = obj.normal(0, size * 0.45, (int(obj.integers(3, 6)), 2))
    for dx, dy in clumps:
        sersic(
            frame,
            cx + dx,
            cy + dy,
            size * obj.uniform(0.3, 0.6),
            1.0,
            obj.uniform(0.5, 1),
            obj.uniform(0, 3),
            9,
        )
    n = int(obj.integers(900, 1800))
    which = obj.integers(0, len(clumps), n)
    xy = clumps[which] + obj.normal(0, size * 0.35, (n, 2))
    frame.add_points(cx + xy[:, 0], cy + xy[:, 1], 5 * (obj.pareto(1.8, n) + 0.3))
    knots = clumps[obj.integers(0, len(clumps), 6)] + obj.normal(0, size * 0.2, (6, 2))
    frame.add_points(cx + knots[:, 0], cy + knots[:, 1], obj.uniform(150, 500, 6))


def draw_interacting(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    sep, axis = obj.uniform(55, 100), obj.uniform(0, 2 * np.pi)
    spin = obj.choice([-1, 1])
    for side in (-1, 1):
        gx, gy = cx + side * sep / 2 * np.cos(axis), cy + side * sep / 2 * np.sin(axis)
        scale, q, pa = obj.uniform(12, 20), obj.uniform(0.4, 0.9), obj.uniform(0, np.pi)
        sersic(frame, gx, gy, scale * 0.35, 2.5, q, pa, 300)
        sersic(frame, gx, gy, scale, 1.0, q, pa, 60)
        t = np.linspace(0, 1, 500)
        length, curl = obj.uniform(110, 190), obj.uniform(1.2, 2.4)
        theta = axis + (np.pi if side < 0 else 0) + spin * curl * t
        r = scale + length * t
        curve(obj, frame, gx + r * np.cos(theta), gy + r * np.sin(theta), 60 * np.exp(-2.2 * t), 2 + 5 * t)
    t = np.linspace(-0.5, 0.5, 150)
    curve(obj, frame, cx + sep * t * np.cos(axis), cy + sep * t * np.sin(axis), 25, 6)  # the bridge


def draw_globular(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    core, tidal = obj.uniform(7, 14), obj.uniform(140, 200)
    cluster(obj, frame, cx, cy, int(obj.integers(3500, 6000)), core, tidal, 7, 1.6)
    sersic(frame, cx, cy, core * 2.5, 1.5, 1.0, 0.0, 40)


def draw_open_cluster(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    n = int(obj.integers(35, 90))
    r = obj.uniform(0, 1, n) ** 0.7 * obj.uniform(110, 170)
    t = obj.uniform(0, 2 * np.pi, n)
    frame.add_points(cx + r * np.cos(t), cy + r * np.sin(t), 400 * (obj.pareto(1.3, n) + 0.4))
    if obj.random() < 0.5:  # reflection nebulosity left over from the birth cloud
        sersic(frame, cx + obj.normal(0, 40), cy + obj.normal(0, 40), obj.uniform(50, 90), 0.7, 0.7, 0.5, 6)


def draw_crowded_field(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    uniform_stars(obj, frame, int(obj.integers(7000, 12000)), 6, 1.5)
    uniform_stars(img, frame, 25, 150, 1.5)


def draw_planetary_nebula(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    radius, q, pa = obj.uniform(26, 55), obj.uniform(0.6, 1.0), obj.uniform(0, np.pi)
    frame.add_points(np.array([cx]), np.array([cy]), 2500)
    sersic(frame, cx, cy, radius * 0.7, 0.5, q, pa, 45)
    ring(obj, frame, cx, cy, radius, q, pa, radius * 0.1, 900, 6000, clumpy=0.3)
    ring(obj, frame, cx, cy, radius * 1.55, q * 0.95, pa, radius * 0.15, 220, 3000)
    if obj.random() < 0.5:  # bipolar lobes along the minor axis
        for side in (-1, 1):
            lx, ly = side * radius * 1.1 * -np.sin(pa), side * radius * 1.1 * np.cos(pa)
            sersic(frame, cx + lx, cy + ly, radius * 0.45, 0.6, 0.7, pa + np.pi / 2, 25)


def draw_supernova_remnant(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    radius = obj.uniform(120, 175)
    ring(obj, frame, cx, cy, radius, obj.uniform(0.8, 1.0), obj.uniform(0, np.pi), 5, 900, 20000, clumpy=1.4)
    for _ in range(int(obj.integers(3, 7))):  # inner filaments
        t = np.linspace(0, 1, 300)
        start, span, rad = obj.uniform(0, 2 * np.pi), obj.uniform(0.4, 1.2), radius * obj.uniform(0.5, 0.9)
        wob = rad * (1 + 0.08 * np.sin(t * obj.uniform(5, 15)))
        curve(obj, frame, cx + wob * np.cos(start + span * t), cy + wob * np.sin(start + span * t), 18, 1.5)
    frame.smooth = 1.0


def draw_lensing(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    if obj.random() < 0.35:  # galaxy-scale lens: an Einstein ring around one elliptical
        einstein = obj.uniform(28, 48)
        sersic(
            frame, cx, cy, obj.uniform(10, 16), 4.0, obj.uniform(0.7, 1), obj.uniform(0, 3), 2000, extent=8
        )
        ring(
            obj, frame, cx, cy, einstein, obj.uniform(0.85, 1), obj.uniform(0, 3), 1.8, 700, 5000, clumpy=0.5
        )
        return
    sersic(frame, cx, cy, obj.uniform(22, 32), 4.0, obj.uniform(0.6, 0.9), obj.uniform(0, 3), 2400, extent=8)
    n = int(obj.integers(12, 25))
    for _ in range(n):
        r, t = obj.uniform(40, 170), obj.uniform(0, 2 * np.pi)
        re = obj.uniform(4, 9)
        sersic(
            frame,
            cx + r * np.cos(t),
            cy + r * np.sin(t),
            re,
            4.0,
            obj.uniform(0.6, 1),
            obj.uniform(0, 3),
            900,
        )
    for _ in range(int(obj.integers(2, 5))):  # tangential arcs at the Einstein radius
        einstein, start, span = obj.uniform(55, 105), obj.uniform(0, 2 * np.pi), obj.uniform(0.35, 1.0)
        t = np.linspace(0, 1, 400)
        theta = start + span * t
        curve(
            obj,
            frame,
            cx + einstein * np.cos(theta),
            cy + einstein * np.sin(theta),
            75 * np.sin(np.pi * t) ** 0.5,
            1.4,
        )


def draw_deep_field(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    field_galaxies(obj, frame, int(obj.integers(180, 300)), 2.5, 40)
    for _ in range(int(obj.integers(3, 7))):  # a few larger foreground galaxies
        sersic(
            frame,
            *obj.uniform(-180, 180, 2),
            obj.uniform(5, 10),
            obj.choice([1.0, 4.0]),
            obj.uniform(0.3, 1),
            obj.uniform(0, 3),
            60,
        )


def draw_gas_giant(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    radius = obj.uniform(55, 105)
    win = window(cx, cy, radius * 1.05)
    if win is not None:
        sl, xs, ys = win
        lat = ys / (radius * 0.935)
        r2 = (xs / radius) ** 2 + lat**2
        disk = np.sqrt(np.clip(1 - r2, 0, 1)) ** 0.35
        k, phase = obj.uniform(9, 16), obj.uniform(0, 2 * np.pi)
        bands = 1 + 0.35 * np.sin(k * np.arcsin(np.clip(lat, -1, 1)) + phase)
        bands = bands + 0.1 * np.sin(3 * k * lat + xs / radius * 2)
        frame.diffuse[sl] += 600 * disk * bands * (r2 < 1)
        if obj.random() < 0.5:  # a great storm
            sx, sy = obj.uniform(-0.5, 0.5) * radius, obj.uniform(-0.5, -0.2) * radius
            frame.diffuse[sl] -= (
                250
                * np.exp(-(((xs - sx) / (0.16 * radius)) ** 2 + ((ys - sy) / (0.09 * radius)) ** 2))
                * (r2 < 1)
            )
    moons = int(img.integers(0, 3))
    frame.add_points(
        cx + img.uniform(-2.5, 2.5, moons) * radius, cy + img.normal(0, 0.1, moons) * radius, 4000
    )
    frame.smooth = 0.8


def draw_comet(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    tail_dir, length = obj.uniform(0, 2 * np.pi), obj.uniform(170, 300)
    frame.add_points(np.array([cx]), np.array([cy]), 4000)
    win = window(cx, cy, 110)
    if win is not None:
        sl, xs, ys = win
        r = np.sqrt(xs * xs + ys * ys)
        frame.diffuse[sl] += 120 / (1 + r / 4) * np.clip(1 - r / 110, 0, 1) ** 2
    t = obj.exponential(0.35, 6000).clip(0, 1)
    spread = obj.normal(0, 1, 6000) * (3 + 0.22 * t * length)
    along = t * length
    c, s = np.cos(tail_dir), np.sin(tail_dir)
    frame.add_diffuse(cx + c * along - s * spread, cy + s * along + c * spread, np.full(6000, 8.0))
    ion = np.linspace(0, 1, 400)  # the narrow, straight ion tail
    ang = tail_dir + obj.uniform(-0.15, 0.15)
    curve(
        obj,
        frame,
        cx + np.cos(ang) * ion * length * 1.2,
        cy + np.sin(ang) * ion * length * 1.2,
        10 * (1 - ion),
        1.2,
    )
    # the telescope tracks the comet, so background stars trail into short streaks
    n, trail, motion = int(img.integers(15, 40)), img.uniform(10, 28), img.uniform(0, np.pi)
    x0, y0 = img.uniform(-256, 256, (2, n))
    flux = 300 * (img.pareto(1.5, n) + 0.3)
    steps = np.linspace(0, 1, 30)
    frame.add_points(
        (x0[:, None] + np.cos(motion) * trail * steps).ravel(),
        (y0[:, None] + np.sin(motion) * trail * steps).ravel(),
        np.repeat(flux / 30, 30),
    )


def draw_protostellar_jet(frame: Frame, obj: Rng, img: Rng, cx: float, cy: float) -> None:
    axis, length = obj.uniform(0, np.pi), obj.uniform(110, 180)
    c, s = np.cos(axis), np.sin(axis)
    frame.add_points(np.array([cx]), np.array([cy]), 800)
    sersic(
        frame, cx + c * 12, cy + s * 12, 14, 0.8, 0.45, axis, 60
    )  # reflection nebula in the outflow cavity
    for side in (-1, 1):
        t = np.linspace(0.05, 1, 400)
        curve(obj, frame, cx + side * c * length * t, cy + side * s * length * t, 6, 1.0)
        knots = np.sort(obj.uniform(0.1, 0.95, int(obj.integers(4, 8))))
        for k in knots:
            kx, ky = cx + side * c * length * k, cy + side * s * length * k
            sersic(frame, kx, ky, obj.uniform(1.5, 3.5), 0.7, 0.6, axis, obj.uniform(60, 160))
        w = np.linspace(-1, 1, 200)  # terminal bow shock, opening back toward the source
        along, across = length * (1.02 - 0.08 * w**2), 22 * w
        curve(obj, frame, cx + side * c * along - s * across, cy + side * s * along + c * across, 30, 1.6)
    sersic(frame, cx, cy, 120, 0.6, 0.8, obj.uniform(0, 3), 4)  # the parent cloud


@dataclass(frozen=True)
class SynthClass:
    label: str  # also the natural text query for the class
    draw: Draw
    field_stars: tuple[int, int]
    field_galaxies: tuple[int, int]
    instruments: tuple[str, ...]
    stretch_a: tuple[float, float] = (0.03, 0.2)
    cosmic_rays: tuple[int, int] = (0, 60)


_EXTRAGALACTIC = ("ACS/WFC", "WFC3/UVIS", "WFC3/IR", "WFPC2")
_GALACTIC = ("ACS/WFC", "WFC3/UVIS", "WFPC2")
_PLANETARY = ("WFC3/UVIS", "WFPC2")

CLASSES: tuple[SynthClass, ...] = (
    SynthClass("spiral galaxy", draw_spiral, (3, 15), (10, 30), _EXTRAGALACTIC),
    SynthClass("barred spiral galaxy", draw_barred_spiral, (3, 15), (10, 30), _EXTRAGALACTIC),
    SynthClass("elliptical galaxy", draw_elliptical, (3, 15), (10, 30), _EXTRAGALACTIC),
    SynthClass("edge-on disk galaxy", draw_edge_on, (3, 15), (10, 30), _EXTRAGALACTIC),
    SynthClass("dwarf irregular galaxy", draw_dwarf_irregular, (5, 20), (5, 20), _EXTRAGALACTIC),
    SynthClass("interacting galaxies", draw_interacting, (3, 15), (10, 30), _EXTRAGALACTIC),
    SynthClass("globular cluster", draw_globular, (20, 60), (0, 0), _GALACTIC),
    SynthClass("open cluster", draw_open_cluster, (80, 200), (0, 0), _GALACTIC),
    SynthClass("crowded stellar field", draw_crowded_field, (0, 0), (0, 0), _GALACTIC),
    SynthClass("planetary nebula", draw_planetary_nebula, (30, 120), (0, 0), _GALACTIC),
    SynthClass("supernova remnant", draw_supernova_remnant, (60, 200), (0, 0), _GALACTIC),
    SynthClass("strong lensing", draw_lensing, (2, 10), (20, 50), ("ACS/WFC", "WFC3/IR", "WFC3/UVIS")),
    SynthClass("deep field", draw_deep_field, (2, 8), (0, 0), ("ACS/WFC", "WFC3/IR")),
    SynthClass("gas giant", draw_gas_giant, (0, 0), (0, 0), _PLANETARY, (0.3, 1.0), (0, 10)),
    SynthClass("comet", draw_comet, (0, 0), (0, 0), _PLANETARY, (0.05, 0.2), (0, 30)),
    SynthClass("protostellar jet", draw_protostellar_jet, (40, 120), (0, 0), _GALACTIC),
)
BY_LABEL = {c.label: c for c in CLASSES}
