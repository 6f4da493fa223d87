"""CLI commands of this layer, registered on the root ``paperclip`` app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this layer's commands to the root app (none yet)."""
    __import__("training.evaluate.cli", fromlist=["register"]).register(app)
    __import__("training.captions.cli", fromlist=["register"]).register(app)
    __import__("training.train_cli", fromlist=["register"]).register(app)
