"""``paperclip serve``: run the web service."""

from __future__ import annotations

import os
import signal
import tempfile

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for all)"),
    port: int = typer.Option(8000, help="Port (0 picks a free one)"),
    workers: int = typer.Option(
        1, help="Worker processes (each loads the model; the index is memory-mapped, one copy per host)"
    ),
    log_level: str = typer.Option("info"),
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the browser UI (/).

    On SIGTERM uvicorn stops accepting, finishes the requests in flight, then re-raises the
    signal; ending with status 0 there tells a supervisor the stop was clean."""
    import uvicorn

    signal.signal(signal.SIGTERM, _drained)
    os.environ.setdefault("PAPERCLIP_LOG_LEVEL", log_level.upper())  # the app configures logging
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # one /metrics for all workers
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="paperclip-metrics-")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=None,
        access_log=False,
    )


def _drained(signum: int, frame: object) -> None:
    raise SystemExit(0)


def register_serve(app: typer.Typer) -> None:
    app.command("serve")(serve)
