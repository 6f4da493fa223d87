"""Errors as RFC 9457 problem details for the API and as an error page for the browser.

Bad input never becomes a 500: image errors carry their own status, a database that cannot be
reached is a 503 (the service recovers by itself when it comes back), a missing index too.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException

from app.runtime import NotReady
from paperclip.imaging import ImageError

log = logging.getLogger("paperclip.app")


def problem(request: Request, status: int, detail: str, reason: str | None = None) -> Response:
    title = HTTPStatus(status).phrase
    if not request.url.path.startswith("/api/"):
        from app.web import render_error

        return render_error(request, status, title, detail)
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if reason:
        body["reason"] = reason
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


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
        return problem(request, 503, str(exc), "not_ready")

    async def db_down(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable: %s", exc)
        return problem(request, 503, "the database is unavailable; try again shortly", "database")

    app.add_exception_handler(OperationalError, db_down)
    app.add_exception_handler(DBAPIError, db_down)
