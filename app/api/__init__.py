"""REST API routers, mounted under ``/api/v1``; shared request dependencies."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from astropy import units as u
from fastapi import Depends, HTTPException, Path, Query, Request

from app.filtered import Filters
from app.resolve import NameNotResolved
from app.retrieval import MAX_K, MAX_RESULTS, SearchRequest, Where
from app.runtime import Runtime
from paperclip import obstime, sky

API_PREFIX = "/api/v1"  # routers carry it themselves, so route templates (metrics labels) include it
# Ids outside their column's range are a 422, never an overflow inside the database driver
DbId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Database id")]
ObservationId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Observation id (64-bit, the vector id)")]
ObservationRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][\w.+-]*$",
        description="Database id, the archive's obs_id (any case), MAST's obs_id or an HST dataset name",
    ),
]
ProposalRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        pattern=r"^([A-Za-z0-9]{1,32}:)?[A-Za-z0-9][\w.-]*$",
        description="Proposal number (15446), COLLECTION:NUMBER (JWST:2736), or database id",
    ),
]
Mode = Literal["vector", "text", "hybrid"]
Sort = Literal["relevance", "date", "exposure"]
Group = Literal["none", "proposal"]
Format = Literal["json", "csv", "votable"]
ANGLE = r"^[0-9+\-.:hdms°'\" ]{1,40}$"


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def query_text(q: str, max_length: int = 1000) -> str:
    """The query stripped; whitespace alone is no query (422)."""
    text = q.strip()
    if not text:
        raise HTTPException(422, "q: the query is empty (only whitespace)")
    if "\x00" in text:
        raise HTTPException(422, "q must not contain NUL characters")
    return text


def filters(
    instrument: str | None = Query(None, max_length=64, description="Instrument, e.g. ACS/WFC"),
    filter: str | None = Query(None, max_length=128, description="Filter name (substring), e.g. F814W"),
    cycle: str | None = Query(None, pattern=r"^[0-9]{0,3}$", description="Proposal cycle (empty = any)"),
    proposal: str | None = Query(None, max_length=64, description="Proposal id, e.g. 15354"),
    target: str | None = Query(None, max_length=256, description="Target name (substring)"),
    collection: str | None = Query(None, max_length=32, description="Collection, e.g. HST, JWST"),
    sky_cell: str | None = Query(
        None,
        pattern=r"^([0-9]{1,2}/[0-9]{1,19})?$",
        description="HEALPix nested cell as ORDER/INDEX (order 0-29), e.g. 6/17970; a cell outside "
        "the sky holds nothing",
    ),
    start: str | None = Query(
        None, max_length=40, description="Observed from (UTC): ISO 8601 (2019-06-01) or MJD (58635)"
    ),
    end: str | None = Query(None, max_length=40, description="Observed until (UTC): ISO 8601 or MJD"),
    min_exposure: str | None = Query(
        None,
        pattern=r"^([0-9]{1,7}(\.[0-9]*)?)?$",
        description="Minimum exposure time, seconds (empty = any)",
    ),
) -> Filters:
    """Empty strings (as a plain HTML form sends them) mean "any"."""
    if any("\x00" in (v or "") for v in (instrument, filter, proposal, target, collection)):
        raise HTTPException(422, "filters must not contain NUL characters")
    order, _, cell = (sky_cell or "").partition("/")
    window = None
    if start or end:
        try:
            lo = obstime.to_mjd(obstime.parse_time(start)) if start else -math.inf
            hi = obstime.to_mjd(obstime.parse_time(end)) if end else math.inf
        except obstime.TimeError as e:
            raise HTTPException(422, f"start/end: {e}") from None
        if end and re.fullmatch(r"\d{4}-\d{2}-\d{2}", end.strip()):
            hi += 1 - 1e-9  # a date alone as the end means the whole day
        if lo > hi:
            raise HTTPException(422, "start is after end")
        window = (lo, hi)
    return Filters(
        instrument or None,
        filter or None,
        int(cycle) if cycle else None,
        proposal or None,
        target or None,
        collection or None,
        (int(order), int(cell)) if sky_cell else None,
        start=window,
        min_exposure=float(min_exposure) if min_exposure else None,
    )


def where(
    request: Request,
    ra: str | None = Query(
        None, pattern=ANGLE, description="Right ascension: 161.265 (deg) or 10:45:03.6 (h)"
    ),
    dec: str | None = Query(None, pattern=ANGLE, description="Declination: -59.684 or -59:41:04"),
    l: str | None = Query(None, pattern=ANGLE, description="Galactic longitude, degrees (instead of ra/dec)"),  # noqa: E741
    b: str | None = Query(None, pattern=ANGLE, description="Galactic latitude, degrees"),
    near: str | None = Query(
        None,
        max_length=100,
        description="An object's name (M31, NGC 1300): this archive's targets, then Sesame",
    ),
    radius: str | None = Query(
        None,
        max_length=40,
        description="Cone radius with its unit: 0.1 deg, 5 arcmin, 30 arcsec (a bare number is degrees); "
        "default 3 arcmin",
    ),
) -> Where | None:
    """The search position (a cone), from ra/dec, l/b or a name; None when none is given."""
    given = {
        k: v for k, v in {"ra": ra, "dec": dec, "l": l, "b": b, "near": near}.items() if v not in (None, "")
    }
    if not given:
        if radius not in (None, ""):
            raise HTTPException(422, "radius needs a position: ra and dec, l and b, or near")
        return None
    try:
        r = sky.parse_radius(radius) if radius not in (None, "") else sky.DEFAULT_RADIUS
        if set(given) == {"near"}:
            try:
                found = request.app.state.runtime.resolver.resolve(near)
            except NameNotResolved as e:
                raise HTTPException(422, f"near: {e}") from None
            return Where(found.ra, found.dec, r.to(u.deg).value, f"{near} → {found.detail}")
        if set(given) == {"ra", "dec"}:
            c = sky.position(ra, dec, "icrs")
        elif set(given) == {"l", "b"}:
            c = sky.position(l, b, "galactic")
        else:
            raise HTTPException(422, "give a position one way: ra and dec, l and b, or near")
    except sky.CoordinateError as e:
        raise HTTPException(422, str(e)) from None
    return Where(float(c.ra.deg), float(c.dec.deg), r.to(u.deg).value)


def result_set(
    request: Request,
    f: Filters = Depends(filters),
    w: Where | None = Depends(where),
    k: int = Query(12, ge=1, le=MAX_K, description="Results (or proposals, with group=proposal) per page"),
    page: int = Query(
        1, ge=1, le=MAX_RESULTS, description=f"Page number, from 1; ranks past {MAX_RESULTS} are not served"
    ),
    mode: Mode | None = Query(
        None,
        description="vector (embedding), text (full-text), or hybrid (both, fused); by default the "
        "server's PAPERCLIP_SEARCH_MODE (text)",
    ),
    sort: Sort = Query("relevance", description="relevance, or newest (date) or longest (exposure) first"),
    group: Group = Query("none", description="proposal: one hit per proposal, its others under it"),
) -> SearchRequest:
    """What every result-set endpoint shares: filters, position, page, ranking and grouping."""
    mode = mode or request.app.state.runtime.settings.search_mode
    return SearchRequest(None, mode, f, w, sort, group, k, page)
