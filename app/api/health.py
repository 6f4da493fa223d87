"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from app import queries
from app.api import API_PREFIX, runtime
from app.runtime import Runtime
from app.schemas import Health, Ready
from paperclip.db import session_scope

router = APIRouter(prefix=API_PREFIX, tags=["operations"])


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(status="ok")


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
def ready(rt: Runtime = Depends(runtime)) -> JSONResponse:
    """200 only when the database answers and an index is loaded."""
    database, detail = True, None
    try:
        with session_scope(rt.settings.db_url) as s:
            queries.ping(s)
    except Exception as e:
        database, detail = False, f"database unavailable: {type(e).__name__}"
    loaded = rt.loaded
    if loaded is None:
        detail = detail or rt.last_error or "no index loaded"
    body = Ready(
        status="ready" if database and loaded else "unavailable",
        database=database,
        index_version=loaded and loaded.version_id,
        vectors=loaded and loaded.files.count,
        detail=detail,
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ready" else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    return PlainTextResponse(
        request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
