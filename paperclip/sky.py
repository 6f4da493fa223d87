"""Sky positions: what astronomers type, HEALPix cells that make a cone an index lookup, exact separations.

Every observation stores the NESTED HEALPix index of its position at ``ORDER``. In the NESTED
scheme each cell of a coarser order is one contiguous range of finer indexes, so a cone becomes
a few ``BETWEEN`` ranges over that column, which a plain B-tree answers on SQLite and Postgres
alike; the exact angular separation then drops the candidates outside the circle.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from astropy_healpix import HEALPix, level_to_nside, lonlat_to_healpix, nside_to_pixel_resolution
from sqlalchemy import ColumnElement, or_

ORDER = 29  # the IVOA MOC's finest order: cells of 0.4 mas, so any coarser cell is a range of these
NSIDE = level_to_nside(ORDER)
MAX_RADIUS = Angle(180, u.deg)
DEFAULT_RADIUS = Angle(3, u.arcmin)  # as in the MAST Portal
CELLS_PER_CONE = 16  # coarse cells covering a cone, about: more ranges, fewer candidates to check

_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_UNIT_MARK = re.compile(r"[hdms°'\"′″:]|\s")
_SYMBOLS = {"°": " deg", "'": " arcmin", "′": " arcmin", '"': " arcsec", "″": " arcsec"}
_GALACTIC = re.compile(r"^\s*(gal(actic)?\s*[:,]?\s*|l\s*=)|\bgal(actic)?\s*$", re.I)


class CoordinateError(ValueError):
    """Input that is not a position or radius; the message says what was expected."""


def _angle(text: str | float, sexagesimal_unit: u.Unit, what: str) -> Angle:
    """A decimal number is degrees; anything with h/m/s, d, colons or spaces is sexagesimal in
    ``sexagesimal_unit`` unless it names its own units (``10h45m03.6s``, ``-59d41m04s``)."""
    if isinstance(text, int | float):
        value = Angle(float(text), u.deg)
    else:
        t = text.strip()
        try:
            if _DECIMAL.fullmatch(t):
                value = Angle(float(t), u.deg)
            elif not _UNIT_MARK.search(t):
                raise ValueError(t)
            elif re.search(r"[hd°]", t):
                value = Angle(t)
            else:
                value = Angle(t, unit=sexagesimal_unit)
        except (ValueError, u.UnitsError, TypeError):
            raise CoordinateError(
                f"{what}: {t[:40]!r} is not an angle (decimal degrees, or sexagesimal like 10:45:03.6)"
            ) from None
    if not np.isfinite(value.deg):
        raise CoordinateError(f"{what} must be a finite angle")
    return value


def position(lon: str | float, lat: str | float, frame: str = "icrs") -> SkyCoord:
    """RA/Dec (``frame="icrs"``, RA sexagesimal in hours) or galactic l/b (both in degrees), as ICRS."""
    if frame not in ("icrs", "galactic"):
        raise CoordinateError(f"unknown frame {frame!r}: icrs or galactic")
    names = ("ra", "dec") if frame == "icrs" else ("l", "b")
    lon_a = _angle(lon, u.hourangle if frame == "icrs" else u.deg, names[0])
    lat_a = _angle(lat, u.deg, names[1])
    if not -90 <= lat_a.deg <= 90:
        raise CoordinateError(f"{names[1]} must be between -90 and +90 degrees, not {lat_a.deg:g}")
    if not -360 <= lon_a.deg <= 360:
        raise CoordinateError(f"{names[0]} must be between 0 and 360 degrees, not {lon_a.deg:g}")
    coord = SkyCoord(lon_a.wrap_at(360 * u.deg), lat_a, frame=frame)
    return coord.icrs if frame == "galactic" else coord


def parse_coordinate(text: str) -> SkyCoord | None:
    """A position typed as one string, or None when ``text`` is not one (so it is searched as words).

    ``161.265 -59.684``, ``161.265, -59.684`` (degrees); ``10:45:03.6 -59:41:04``,
    ``10 45 03.6 -59 41 04``, ``10h45m03.6s -59d41m04s`` (RA in hours); ``gal 287.6 -0.64`` or
    ``l=287.6 b=-0.64`` (galactic, degrees).
    """
    t = text.strip()
    if (
        not t
        or len(t) > 80
        or re.search(r"[a-ce-gi-ln-rt-z]", _GALACTIC.sub(" ", t).replace("b=", " "), re.I)
    ):
        return None
    galactic = bool(_GALACTIC.search(t))
    body = re.sub(r"\b[lb]\s*=", " ", _GALACTIC.sub(" ", t), flags=re.I).replace(",", " ").strip()
    numbers = body.split()
    try:
        if len(numbers) == 2 and all(_DECIMAL.fullmatch(n) for n in numbers):
            return position(*numbers, frame="galactic" if galactic else "icrs")
        if galactic or not numbers:
            return None
        coord = SkyCoord(body, unit=(u.hourangle, u.deg), frame="icrs")
    except (CoordinateError, ValueError, u.UnitsError, TypeError):
        return None
    return coord if np.isfinite(coord.ra.deg) and -90 <= coord.dec.deg <= 90 else None


def parse_radius(text: str | float, default_unit: u.Unit = u.deg) -> Angle:
    """``0.1`` (``default_unit``), ``5 arcmin``, ``5'``, ``30"``, ``2arcsec``, ``0.1 deg``: 0 < r <= 180 deg."""
    if isinstance(text, int | float):
        value = Angle(float(text), default_unit)
    else:
        t = text.strip()
        for symbol, unit in _SYMBOLS.items():
            t = t.replace(symbol, unit)
        try:
            value = Angle(float(t), default_unit) if _DECIMAL.fullmatch(t) else Angle(u.Quantity(t))
        except (ValueError, TypeError, u.UnitsError):
            raise CoordinateError(
                f"radius: {text[:40]!r} is not an angle (e.g. 0.1, 0.1 deg, 5 arcmin, 30 arcsec)"
            ) from None
    if not (np.isfinite(value.deg) and 0 < value.deg <= MAX_RADIUS.deg):
        raise CoordinateError("radius must be above 0 and at most 180 degrees")
    return value


def healpix_index(ra: float | np.ndarray, dec: float | np.ndarray) -> np.ndarray:
    """NESTED HEALPix index at ``ORDER`` of ICRS positions in degrees (int64)."""
    return np.asarray(
        lonlat_to_healpix(np.asarray(ra) * u.deg, np.asarray(dec) * u.deg, NSIDE, order="nested"),
        dtype=np.int64,
    )


def healpix_of(ra: float | None, dec: float | None) -> int | None:
    """The stored column's value for one observation; None without a valid position."""
    if ra is None or dec is None or not (math.isfinite(ra) and math.isfinite(dec)) or abs(dec) > 90:
        return None
    return int(healpix_index(ra % 360.0, dec))


def merge_ranges(cells: Sequence[int], order: int) -> list[tuple[int, int]]:
    """Inclusive ``ORDER``-level index ranges covering the given NESTED cells of ``order``."""
    shift = 2 * (ORDER - order)
    ranges: list[tuple[int, int]] = []
    for cell in sorted(int(c) for c in cells):
        lo, hi = cell << shift, ((cell + 1) << shift) - 1
        if ranges and ranges[-1][1] + 1 == lo:
            ranges[-1] = (ranges[-1][0], hi)
        else:
            ranges.append((lo, hi))
    return ranges


@dataclass(frozen=True)
class Cone:
    """A true spherical cap: centre (ICRS) and radius."""

    center: SkyCoord
    radius: Angle

    @property
    def order(self) -> int:
        """The finest order whose cells are still about half the radius across (a dozen cover it)."""
        target = self.radius.to(u.rad).value / math.sqrt(CELLS_PER_CONE / math.pi)
        for level in range(ORDER, -1, -1):
            if nside_to_pixel_resolution(level_to_nside(level)).to(u.rad).value >= target:
                return level
        return 0

    def cells(self) -> tuple[int, np.ndarray]:
        """Every cell of ``order`` that the cap overlaps, even partly."""
        level = self.order
        if self.radius.deg >= 90:  # a hemisphere or more: nearly the whole sky anyway
            return 0, np.arange(12)
        hp = HEALPix(nside=level_to_nside(level), order="nested")
        return level, hp.cone_search_lonlat(self.center.ra, self.center.dec, self.radius)

    def ranges(self) -> list[tuple[int, int]]:
        level, cells = self.cells()
        return merge_ranges(cells, level)

    def separation(self, ra: np.ndarray, dec: np.ndarray) -> Angle:
        """Great-circle distance from the centre (astropy's Vincenty formula)."""
        return self.center.separation(SkyCoord(np.asarray(ra) * u.deg, np.asarray(dec) * u.deg))

    def contains(self, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
        return np.asarray(self.separation(ra, dec) <= self.radius)

    def in_ranges(self, cells: np.ndarray) -> np.ndarray:
        """Rows whose stored cell lies in the cone's ranges (the index's candidates), in one pass."""
        bounds = np.array([b for lo, hi in self.ranges() for b in (lo, hi + 1)], dtype=np.int64)
        return np.searchsorted(bounds, np.asarray(cells, dtype=np.int64), side="right") % 2 == 1

    def distances(self, cells: np.ndarray, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
        """Distance from the centre in degrees of the rows inside the cap, NaN for the others: the
        cell ranges first, then the exact separation of those candidates only."""
        out = np.full(len(cells), np.nan)
        candidates = np.flatnonzero(self.in_ranges(cells))
        if len(candidates):
            d = self.separation(np.asarray(ra)[candidates], np.asarray(dec)[candidates])
            inside = d <= self.radius
            out[candidates[inside]] = d[inside].deg
        return out

    def clause(self, column: ColumnElement[int]) -> ColumnElement[bool]:
        """SQL condition on a HEALPix column: true for every row in the cap and a few around it."""
        return or_(*(column.between(lo, hi) for lo, hi in self.ranges()))


def cone(center: SkyCoord, radius: Angle | None = None) -> Cone:
    return Cone(center.icrs, Angle(radius if radius is not None else DEFAULT_RADIUS))


def mean_position(ra: Sequence[float], dec: Sequence[float]) -> SkyCoord:
    """The direction of the mean unit vector (no trouble at RA 0/360)."""
    x, y, z = SkyCoord(np.asarray(ra) * u.deg, np.asarray(dec) * u.deg).cartesian.xyz.value.mean(axis=1)
    return SkyCoord(
        math.degrees(math.atan2(y, x)) % 360.0, math.degrees(math.atan2(z, math.hypot(x, y))), unit="deg"
    )


def format_ra(ra_deg: float) -> str:
    return Angle(ra_deg, u.deg).to_string(unit=u.hourangle, sep=":", precision=2, pad=True)


def format_dec(dec_deg: float) -> str:
    return Angle(dec_deg, u.deg).to_string(unit=u.deg, sep=":", precision=1, pad=True, alwayssign=True)


# -- name resolution through CDS Sesame (astropy's client), one request at a time -------------------
_sesame_lock = threading.Lock()


class NameNotFound(LookupError):
    """Sesame answered but does not know the name."""


class ResolverUnavailable(ConnectionError):
    """Sesame could not be reached (offline, blocked, timed out)."""


def resolve_sesame(name: str, url: str, timeout_s: float) -> SkyCoord:
    """ICRS position of ``name`` from the Sesame service at ``url`` (SIMBAD, then NED, then VizieR).

    astropy's client keeps its URL and timeout in process-wide state, so calls are serialized
    under a lock; callers cache the answers.
    """
    from astropy.coordinates import name_resolve
    from astropy.utils import data

    with _sesame_lock, name_resolve.sesame_url.set([url]), data.conf.set_temp("remote_timeout", timeout_s):
        try:
            return name_resolve.get_icrs_coordinates(name, cache=False)
        except name_resolve.NameResolveError as e:
            if "All Sesame queries failed" in str(e):
                raise ResolverUnavailable(f"Sesame unreachable at {url}") from None
            raise NameNotFound(name) from None
        except Exception as e:  # offline: URLError, a refused socket, a timeout, a garbled answer
            raise ResolverUnavailable(f"Sesame unreachable at {url}: {type(e).__name__}") from None
