"""The FastAPI application: REST API under /api/v1, the browser UI at /, docs at /docs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from app import docs, errors, web
from app.api import admin, archive, describe, health, search
from app.logs import RequestContext, configure_logging
from app.metrics import Metrics, MetricsMiddleware
from app.ratelimit import RateLimit
from app.runtime import Runtime
from app.uploads import BodyLimit, HeadAsGet
from paperclip.config import Settings, get_settings

log = logging.getLogger("paperclip.app")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    metrics = Metrics()
    runtime = Runtime(settings, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:  # a missing DB or index must not stop the process: /ready says 503 until they appear
            await asyncio.to_thread(runtime.refresh)
        except Exception as e:
            runtime.last_error = f"startup: {e}"
            log.error("could not load the active index at startup: %s", e)
        poller = asyncio.create_task(runtime.poll())
        yield
        poller.cancel()

    app = FastAPI(
        title="PAPERCLIP",
        summary="Search Hubble observations in plain language; describe images with science use cases.",
        version="1.0",
        lifespan=lifespan,
        docs_url=None,  # served from local assets below: the docs render offline
        redoc_url=None,
    )
    app.state.settings, app.state.metrics, app.state.runtime = settings, metrics, runtime
    for module in (search, describe, archive, health, admin):
        app.include_router(module.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    docs.install(app)
    errors.install(app)
    app.add_middleware(HeadAsGet)
    app.add_middleware(
        RateLimit, limits=settings.rate_limit, storage_uri=settings.rate_limit_storage_uri, metrics=metrics
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"])
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestContext)  # outermost: every line logged inside carries the request id
    return app
