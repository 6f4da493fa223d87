"""CLI commands of this layer, registered on the root ``paperclip`` app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this layer's commands to the root app."""
    from indexer.harvest.cli import register_harvest
    from indexer.index.cli import register_index
    from indexer.shards.cli import register_shards
    from indexer.synth.cli import register_synth

    register_harvest(app)
    register_index(app)
    register_shards(app)
    register_synth(app)
