"""``paperclip synth``: write the synthetic archive (then ``paperclip import`` it, as the demo does)."""

from __future__ import annotations

from pathlib import Path

import typer


def register_synth(app: typer.Typer) -> None:
    app.command("synth")(synth_command)


def synth_command(
    out_dir: Path = typer.Argument(..., help="Folder for images/, manifest.jsonl and contact_sheet.png"),
    proposals: int = typer.Option(150, min=1, help="Number of proposals (each 5-15 images)"),
    seed: int = typer.Option(0, help="Same seed, same archive"),
    workers: int | None = typer.Option(None, min=1, help="Rendering processes (default: up to 2)"),
) -> None:
    """Generate a synthetic HST-like archive (16 classes of target) as an import manifest."""
    from indexer.synth import COLLECTION, generate

    manifest = generate(out_dir, proposals=proposals, seed=seed, workers=workers)
    rows = sum(1 for _ in manifest.open())
    typer.echo(f"{rows} images from {proposals} proposals: {manifest}")
    typer.echo(f"look at {manifest.parent / 'contact_sheet.png'}; import with:")
    typer.echo(f"  paperclip import {manifest} --collection {COLLECTION}")
