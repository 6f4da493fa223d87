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


def document_problems(app: FastAPI) -> None:
    """The OpenAPI schema says what the service sends: every error response is a problem document
    (``application/problem+json``), and any operation can answer 422 (bad input) or 503 (no DB/index)."""
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
                for code in ("422", "503"):
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
    document_problems(app)
