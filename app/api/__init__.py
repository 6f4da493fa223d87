"""REST API routers, mounted under ``/api/v1``; shared request dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request

from app.filtered import Filters
from app.retrieval import MAX_K, MAX_RESULTS
from app.runtime import Runtime

API_PREFIX = "/api/v1"  # routers carry it themselves, so route templates (metrics labels) include it
# Ids are 32-bit integer columns: anything outside is a 422, never an overflow inside the database driver
DbId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Database id")]


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def filters(
    instrument: str | None = Query(None, max_length=64, description="Instrument, e.g. ACS/WFC"),
    filter: str | None = Query(None, max_length=128, description="Filter name (substring), e.g. F814W"),
    cycle: str | None = Query(None, pattern=r"^[0-9]{0,3}$", description="Proposal cycle (empty = any)"),
    proposal: str | None = Query(None, max_length=64, description="Proposal id, e.g. 15354"),
    target: str | None = Query(None, max_length=256, description="Target name (substring)"),
    collection: str | None = Query(None, max_length=32, description="Collection, e.g. HST"),
    sky_cell: str | None = Query(
        None,
        pattern=r"^([0-9]{1,2}/[0-9]{1,19})?$",
        description="HEALPix nested cell as ORDER/INDEX (order 0-29), e.g. 6/17970; a cell outside "
        "the sky holds nothing",
    ),
) -> Filters:
    """Empty strings (as a plain HTML form sends them) mean "any"."""
    order, _, cell = (sky_cell or "").partition("/")
    return Filters(
        instrument or None,
        filter or None,
        int(cycle) if cycle else None,
        proposal or None,
        target or None,
        collection or None,
        (int(order), int(cell)) if sky_cell else None,
    )


def paging(
    k: int = Query(12, ge=1, le=MAX_K, description="Results per page"),
    page: int = Query(
        1, ge=1, le=MAX_RESULTS, description=f"Page number, from 1; ranks past {MAX_RESULTS} are not served"
    ),
) -> tuple[int, int]:
    return k, page
