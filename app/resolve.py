"""``near=NAME``: an object name to a sky position, and a line saying how it was found.

The archive's own target names come first (no network, and they are what observers typed: "NGC
1300" finds NGC1300 and NGC-1300 too); then CDS Sesame (SIMBAD, NED, VizieR) when it can be
reached. Answers are cached; after Sesame fails to answer, only the archive is asked for a while,
so an offline service never waits on the network twice in a row.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import astropy.units as u
from astropy.coordinates import SkyCoord

from paperclip import sky

MAX_SPREAD = 0.5 * u.deg  # observations of one named object lie within this of their mean
CACHE_SIZE = 1024

# (target, ra, dec) of the archive's observations whose target is one of the given lowercased names
TargetLookup = Callable[[Sequence[str]], Sequence[tuple[str, float, float]]]


class NameNotResolved(LookupError):
    """Neither the archive nor Sesame knows the name; the message says who was asked."""


@dataclass(frozen=True)
class Resolution:
    name: str
    ra: float
    dec: float
    source: str  # archive | sesame
    detail: str  # shown to the user, e.g. "NGC1300 in this archive (12 observations)"

    @property
    def coord(self) -> SkyCoord:
        return SkyCoord(self.ra, self.dec, unit="deg")


def name_variants(name: str) -> list[str]:
    """Lowercased spellings of one name as archives store them: ``NGC 1300`` -> ngc 1300, ngc1300,
    ngc-1300, ngc_1300 (HST target names hold no spaces; imported ones may)."""
    base = " ".join(name.lower().split())
    parts = re.split(r"[\s_-]+", base)
    return list(dict.fromkeys([base, " ".join(parts), "".join(parts), "-".join(parts), "_".join(parts)]))


class Resolver:
    def __init__(self, lookup: TargetLookup, sesame_url: str, timeout_s: float, retry_s: float):
        self.lookup = lookup
        self.sesame_url = sesame_url
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self._cache: OrderedDict[str, Resolution] = OrderedDict()
        self._lock = threading.Lock()
        self._sesame_down_until = 0.0

    def resolve(self, name: str) -> Resolution:
        key = " ".join(name.lower().split())
        if not key:
            raise NameNotResolved("an empty name cannot be resolved")
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        found = self._from_archive(name) or self._from_sesame(name)
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return found

    def _from_archive(self, name: str) -> Resolution | None:
        rows = self.lookup(name_variants(name))
        if not rows:
            return None
        ra, dec = [r[1] for r in rows], [r[2] for r in rows]
        mean = sky.mean_position(ra, dec)
        if mean.separation(SkyCoord(ra, dec, unit="deg")).max() > MAX_SPREAD:
            return None  # one name for places far apart ("ANY", "DARK"): not an object's name
        targets = sorted({r[0] for r in rows})
        return Resolution(
            name,
            float(mean.ra.deg),
            float(mean.dec.deg),
            "archive",
            f"{', '.join(targets[:3])} in this archive ({len(rows)} observation{'s' * (len(rows) != 1)})",
        )

    def _from_sesame(self, name: str) -> Resolution:
        if not self.sesame_url:
            raise NameNotResolved(f"{name!r} is not a target in this archive (and Sesame is switched off)")
        if time.monotonic() < self._sesame_down_until:
            raise NameNotResolved(f"{name!r} is not a target in this archive, and Sesame cannot be reached")
        try:
            coord = sky.resolve_sesame(name, self.sesame_url, self.timeout_s)
        except sky.ResolverUnavailable:
            self._sesame_down_until = time.monotonic() + self.retry_s
            raise NameNotResolved(
                f"{name!r} is not a target in this archive, and Sesame cannot be reached"
            ) from None
        except sky.NameNotFound:
            raise NameNotResolved(
                f"neither this archive nor Sesame (SIMBAD, NED, VizieR) knows {name!r}"
            ) from None
        return Resolution(
            name, float(coord.ra.deg), float(coord.dec.deg), "sesame", "CDS Sesame (SIMBAD, NED, VizieR)"
        )
