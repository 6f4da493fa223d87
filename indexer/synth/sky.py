"""Where a synthetic proposal points: the fields real programmes crowd into, or its class's
population on the sky, so a cone search, ``near=``, facets and date filters show something in the
demo (several proposals in COSMOS, jets in Orion, crowded fields in the bulge, planets on the ecliptic).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import astropy.units as u
from astropy.coordinates import BarycentricMeanEcliptic, SkyCoord


@dataclass(frozen=True)
class Field:
    name: str  # a name Sesame resolves, shown in the README's examples
    ra: float  # ICRS degrees
    dec: float
    radius: float  # degrees: proposals fall uniformly within


FIELDS = {
    f.name: f
    for f in (
        Field("COSMOS", 150.1163, 2.2010, 0.6),
        Field("HUDF", 53.1625, -27.7914, 0.12),
        Field("GOODS-N", 189.2283, 62.2375, 0.15),
        Field("Abell 2744", 3.5863, -30.3997, 0.05),
        Field("MACS J0416.1-2403", 64.0381, -24.0675, 0.05),
        Field("Virgo Cluster", 187.7059, 12.3911, 3.0),
        Field("M31", 10.6847, 41.2690, 1.0),
        Field("LMC", 80.8938, -69.7561, 3.0),
        Field("Orion Nebula", 83.8221, -5.3911, 0.5),
        Field("Taurus", 68.0, 25.0, 3.0),
        Field("Baade's Window", 270.8917, -30.0333, 0.8),
    )
}
# Each class's crowded fields and the population the rest are drawn from.
PLACES: dict[str, tuple[tuple[str, ...], str]] = {
    "spiral galaxy": (("Virgo Cluster", "COSMOS"), "high latitude"),
    "barred spiral galaxy": (("Virgo Cluster",), "high latitude"),
    "elliptical galaxy": (("Virgo Cluster", "COSMOS"), "high latitude"),
    "edge-on disk galaxy": (("Virgo Cluster",), "high latitude"),
    "dwarf irregular galaxy": (("Virgo Cluster", "M31"), "high latitude"),
    "interacting galaxies": (("COSMOS",), "high latitude"),
    "globular cluster": (("M31", "LMC", "Baade's Window"), "halo"),
    "open cluster": (("LMC", "Orion Nebula"), "disk"),
    "crowded stellar field": (("Baade's Window", "M31", "LMC"), "disk"),
    "planetary nebula": (("LMC",), "disk"),
    "supernova remnant": (("LMC",), "disk"),
    "strong lensing": (("Abell 2744", "MACS J0416.1-2403", "COSMOS"), "high latitude"),
    "deep field": (("HUDF", "GOODS-N", "COSMOS"), "high latitude"),
    "gas giant": ((), "ecliptic"),
    "comet": ((), "ecliptic"),
    "protostellar jet": (("Orion Nebula", "Taurus"), "disk"),
}
IN_A_FIELD = 0.6  # share of a class's proposals in one of its fields


def place(label: str, rng: random.Random) -> tuple[float, float]:
    """ICRS (ra, dec) in degrees for one proposal of class ``label``."""
    fields, population = PLACES[label]
    if fields and rng.random() < IN_A_FIELD:
        return _in_field(FIELDS[rng.choice(fields)], rng)
    return _in_population(population, rng)


def _in_field(f: Field, rng: random.Random) -> tuple[float, float]:
    """Uniform over the field's disc (small enough for a flat-sky offset)."""
    r, angle = f.radius * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    dec = f.dec + r * math.sin(angle)
    ra = f.ra + r * math.cos(angle) / max(math.cos(math.radians(f.dec)), 0.05)
    return round(ra % 360, 5), round(max(-90.0, min(90.0, dec)), 5)


def _in_population(population: str, rng: random.Random) -> tuple[float, float]:
    if population == "ecliptic":  # planets and comets: near the ecliptic plane
        lon, lat = rng.uniform(0, 360), rng.gauss(0, 3)
        c = SkyCoord(lon * u.deg, lat * u.deg, frame=BarycentricMeanEcliptic()).icrs
    elif population == "disk":  # young and dying stars: the Galactic plane
        c = SkyCoord(l=rng.uniform(0, 360) * u.deg, b=rng.gauss(0, 2.5) * u.deg, frame="galactic").icrs
    elif population == "halo":  # old clusters: around the Galactic centre, off the plane
        lon, lat = rng.gauss(0, 40) % 360, max(-89.0, min(89.0, rng.gauss(0, 20)))
        c = SkyCoord(l=lon * u.deg, b=lat * u.deg, frame="galactic").icrs
    else:  # galaxies: uniform on the sphere, away from the plane's dust
        while True:
            ra, dec = rng.uniform(0, 360), math.degrees(math.asin(rng.uniform(-1, 1)))
            c = SkyCoord(ra * u.deg, dec * u.deg)
            if abs(c.galactic.b.deg) > 20:
                break
    return round(float(c.ra.deg), 5), round(float(c.dec.deg), 5)
