"""Errors as RFC 9457 problem details for the API and as an error page for the browser.

Bad input never becomes a 500: image errors carry their own status. A database that cannot be
reached (a connection-level failure: OperationalError, InterfaceError, a pool timeout) is a 503,
as are a missing index and a saturated queue, each with Retry-After: the service recovers by itself.
Every other error is a bug: ``app.logs.RequestContext`` logs it and answers a 500 with the request id.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from app.batching import Saturated
from app.runtime import NotReady
from paperclip.imaging import ImageError

log = logging.getLogger("paperclip.app")


def title_of(status: int) -> str:
    """The one title per status (RFC 9110's names: 413 is "Content Too Large" everywhere)."""
    return {413: "Content Too Large", 422: "Unprocessable Content"}.get(status) or HTTPStatus(status).phrase


def problem(
    request: Request, status: int, detail: str, reason: str | None = None, retry_after: int | None = None
) -> Response:
    title = title_of(status)
    if not request.url.path.startswith("/api/"):
        from app.web import render_error

        response = render_error(request, status, title, detail)
    else:
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        if reason:
            body["reason"] = reason
        response = JSONResponse(body, status_code=status, media_type="application/problem+json")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def document_problems(app: FastAPI) -> None:
    """The OpenAPI schema says what the service sends: every error response is a problem document
    (``application/problem+json``), and any operation can answer 422 (bad input), 429 (rate limit)
    or 503 (no DB or index, or saturated)."""
    from fastapi.openapi.utils import get_openapi

    from app.schemas import Problem

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code in ("422", "429", "503"):
                    responses.setdefault(code, {"description": HTTPStatus(int(code)).phrase})
                for code, response in responses.items():
                    ref = str(response.get("content", {}).get("application/json", {}).get("schema", {}))
                    if code[0] in "45" and ("Problem" in ref or "ValidationError" in ref or ref == "{}"):
                        response["content"] = problem  # /ready's 503, a Ready body, keeps its own
        schema["components"]["schemas"].pop("HTTPValidationError", None)
        schema["components"]["schemas"].pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


# SQLite reports a missing table or column, or bad SQL, as an OperationalError too: those are bugs
SQLITE_PROGRAMMING = ("no such table", "no such column", "has no column", "syntax error")


def connection_level(exc: Exception) -> bool:
    """Whether a database error means the database cannot be reached (retrying later may work)."""
    if isinstance(exc, OperationalError) and exc.orig is not None and type(exc.orig).__module__ == "sqlite3":
        return not any(part in str(exc.orig) for part in SQLITE_PROGRAMMING)
    return isinstance(exc, OperationalError | InterfaceError | PoolTimeout)


def install(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        response = problem(request, exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )  # no input echoed back
        return problem(request, 422, detail, "validation")

    @app.exception_handler(ImageError)
    async def bad_image(request: Request, exc: ImageError) -> Response:
        return problem(request, exc.status, str(exc), exc.reason)

    @app.exception_handler(NotReady)
    async def not_ready(request: Request, exc: NotReady) -> Response:
        return problem(
            request, 503, str(exc), "not_ready", retry_after=request.app.state.settings.retry_after_s
        )

    @app.exception_handler(Saturated)
    async def saturated(request: Request, exc: Saturated) -> Response:
        request.app.state.metrics.saturated.labels(str(exc).split(":")[0]).inc()
        log.warning("saturated: %s", exc)
        return problem(
            request, 503, f"the service is busy ({exc}); try again shortly", "saturated", exc.retry_after_s
        )

    async def db_down(request: Request, exc: Exception) -> Response:
        if not connection_level(exc):
            raise exc  # a bug, not an outage: RequestContext logs it and answers 500 with the request id
        log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        retry = request.app.state.settings.retry_after_s
        return problem(request, 503, "the database is unavailable; try again shortly", "database", retry)

    for kind in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(kind, db_down)
    document_problems(app)
