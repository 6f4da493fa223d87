"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

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
    """200 only when the database answers and the active index version is the one served (or one
    still loading); 503 while the active version cannot be served, with the last load error."""
    database, detail, active = True, None, rt.active_version
    try:
        with session_scope(rt.settings.db_url) as s:
            active = queries.active_version_id(s)
    except Exception as e:
        database, detail = False, f"database unavailable: {type(e).__name__}"
    state = rt.readiness(active)
    loaded = rt.loaded
    if not state.ready:
        detail = detail or state.last_error or "no index loaded"
    body = Ready(
        status="ready" if database and state.ready else "unavailable",
        database=database,
        index_version=state.served,
        active_version=state.active,
        vectors=loaded and loaded.files.count,
        last_error=state.last_error,
        detail=detail,
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ready" else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)
