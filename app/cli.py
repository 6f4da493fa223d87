"""CLI commands of this layer, registered on the root ``paperclip`` app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this layer's commands to the root app."""
    from app.serve_cli import register_serve

    register_serve(app)
