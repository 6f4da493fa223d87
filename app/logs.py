"""Logs as JSON lines, a request id per request, and the one place unhandled errors become 500s.

``RequestContext`` is the outermost middleware: it takes a sane incoming ``X-Request-ID`` or makes
one, puts it in every log line written while the request runs (threads included: FastAPI copies
the context into its worker threads), returns it as ``X-Request-ID``, writes one access line per
request, and turns an exception nothing else handled into a logged 500 problem carrying the id.
"""

from __future__ import annotations

import contextvars
import html
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("paperclip.app")
access = logging.getLogger("paperclip.access")
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
HANDLER_NAME = "paperclip"


def _with_request_id(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    make.request_ids = True  # type: ignore[attr-defined]
    return make


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Route the service's, uvicorn's and the libraries' logs to one stderr handler (idempotent).

    uvicorn's own access log is switched off: ``RequestContext`` writes one with the request id."""
    from pythonjsonlogger.json import JsonFormatter

    factory = logging.getLogRecordFactory()
    if not getattr(factory, "request_ids", False):  # every record, whichever handler gets it
        logging.setLogRecordFactory(_with_request_id(factory))
    handler = logging.StreamHandler()
    handler.name = HANDLER_NAME
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                datefmt="%Y-%m-%dT%H:%M:%S%z",
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def _error_body(path: str, rid: str) -> tuple[bytes, bytes]:
    detail = f"internal error; quote request id {rid} when reporting it"
    if path.startswith("/api/"):
        body = {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": detail,
            "reason": "internal",
            "request_id": rid,
        }
        return json.dumps(body).encode(), b"application/problem+json"
    page = f"<!doctype html><title>Internal Server Error</title><h1>Internal Server Error</h1><p>{html.escape(detail)}</p>"
    return page.encode(), b"text/html; charset=utf-8"


class RequestContext:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        t0 = time.perf_counter()
        state = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if state["started"]:
                raise  # the status line is gone; the server closes the connection
            body, ctype = _error_body(scope["path"], rid)
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            access.info(
                "%s %s %s",
                scope["method"],
                route,
                state["status"],
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": state["status"],
                    "ms": round(1000 * (time.perf_counter() - t0), 1),
                    "client": (scope.get("client") or ("-",))[0],
                },
            )
            request_id.reset(token)
