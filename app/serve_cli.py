"""``paperclip serve``: run the web service."""

from __future__ import annotations

import signal

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for all)"),
    port: int = typer.Option(8000, help="Port (0 picks a free one)"),
    workers: int = typer.Option(1, help="Worker processes (each loads the model and index)"),
    log_level: str = typer.Option("info"),
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the browser UI (/).

    On SIGTERM uvicorn stops accepting, finishes the requests in flight, then re-raises the
    signal; ending with status 0 there tells a supervisor the stop was clean."""
    import uvicorn

    signal.signal(signal.SIGTERM, _drained)
    uvicorn.run(
        "app.main:create_app", factory=True, host=host, port=port, workers=workers, log_level=log_level
    )


def _drained(signum: int, frame: object) -> None:
    raise SystemExit(0)


def register_serve(app: typer.Typer) -> None:
    app.command("serve")(serve)
