"""REST API routers, mounted under ``/api/v1``; shared request dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Path, Query, Request

from app.queries import Filters
from app.runtime import Runtime

API_PREFIX = "/api/v1"  # routers carry it themselves, so route templates (metrics labels) include it
# Ids are 32-bit integer columns: anything outside is a 422, never an overflow inside the database driver
DbId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Database id")]


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def filters(
    instrument: str | None = Query(None, max_length=64, description="Instrument, e.g. ACS/WFC"),
    filter: str | None = Query(None, max_length=128, description="Filter name, e.g. F814W"),
    cycle: str | None = Query(None, pattern=r"^\d{0,3}$", description="Proposal cycle (empty = any)"),
    proposal: str | None = Query(None, max_length=64, description="Proposal id, e.g. 15354"),
    target: str | None = Query(None, max_length=256, description="Target name (substring)"),
) -> Filters:
    """Empty strings (as a plain HTML form sends them) mean "any"."""
    if any("\x00" in (v or "") for v in (instrument, filter, proposal, target)):
        raise HTTPException(422, "filters must not contain NUL characters")  # Postgres text cannot hold them
    return Filters(
        instrument or None, filter or None, int(cycle) if cycle else None, proposal or None, target or None
    )


def paging(
    request: Request,
    k: int = Query(12, ge=1, description="Results per page"),
    page: int = Query(1, ge=1, le=1000, description="Page number, from 1"),
) -> tuple[int, int]:
    max_k = runtime(request).settings.max_k
    if k > max_k or page * k > 10 * max_k:
        raise HTTPException(422, f"k must be at most {max_k} and page*k at most {10 * max_k}")
    return k, page
