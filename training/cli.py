"""CLI commands of this layer, registered on the root ``paperclip`` app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this layer's commands (caption, train, wise-ft, evaluate) to the root app."""
    from training.captions.cli import register as register_caption
    from training.evaluate.cli import register as register_evaluate
    from training.train_cli import register as register_train

    for register_commands in (register_evaluate, register_caption, register_train):
        register_commands(app)
