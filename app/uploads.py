"""Upload limits: oversized bodies are refused before they are read, images decoded by content.

``BodyLimit`` answers 413 from the Content-Length header alone, and counts the bytes of bodies
sent without one (chunked), stopping at the limit, so a 100 MB body costs the server almost
nothing. ``read_image`` then decodes with the core's sniffing decoder and pixel limit, a bounded
number at a time.
"""

from __future__ import annotations

import json

from fastapi import HTTPException, Request, UploadFile
from PIL import Image
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.runtime import Runtime
from paperclip.imaging import ImageError, decode

MULTIPART_OVERHEAD = 64 * 1024  # form field headers and boundaries around the file


class BodyTooLarge(Exception):
    pass


def _problem(limit: int) -> bytes:
    return json.dumps(
        {
            "type": "about:blank",
            "title": "Content Too Large",
            "status": 413,
            "detail": f"request body is over the limit of {limit} bytes",
            "reason": "too_large",
        }
    ).encode()


def _page(limit: int) -> bytes:
    return (
        "<!doctype html><title>Content Too Large</title><h1>413 · Content Too Large</h1>"
        f'<p>The file is over the limit of {limit} bytes. <a href="/upload">Try another</a>.</p>'
    ).encode()


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes + MULTIPART_OVERHEAD

    async def _refuse(self, scope: Scope, send: Send) -> None:
        """A problem for the API, a plain page for the browser UI (no template: nothing was read)."""
        if scope["path"].startswith("/api/"):
            body, ctype = _problem(self.max_bytes), b"application/problem+json"
        else:
            body, ctype = _page(self.max_bytes), b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", ctype),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(scope, send)
            return
        seen = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            """Whatever the app made of the aborted body (FastAPI says 400), the answer is 413."""
            nonlocal refused
            if seen <= self.max_bytes:
                await send(message)
            elif not refused:
                refused = True
                await self._refuse(scope, send)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not refused:
                await self._refuse(scope, send)


def read_image(upload: UploadFile, rt: Runtime) -> Image.Image:
    """The uploaded file as an image, or an ImageError with the status to answer. At most
    ``max_concurrent_decodes`` uploads decode at once; the others wait (then 503)."""
    settings = rt.settings
    data = upload.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise ImageError(
            f"file is over the limit of {settings.max_upload_bytes} bytes", status=413, reason="too_large"
        )
    with rt.decoding():
        return decode(data, settings.max_image_pixels)


def multipart(request: Request) -> None:
    """Upload endpoints take multipart/form-data only: anything else is a 415, not a 422."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise HTTPException(
            415,
            f"send the file as multipart/form-data (a form field named file), not {ctype or 'no content type'}",
        )


class HeadAsGet:
    """HEAD on every GET route: the GET runs and its body is dropped, headers (length too) kept."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body"):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
