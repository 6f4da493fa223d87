"""``paperclip import`` and ``paperclip harvest``: getting images and texts into the archive."""

from __future__ import annotations

from pathlib import Path

import typer


def register_harvest(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("harvest")(harvest_command)


def _ids(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def harvest_command(
    collection: str = typer.Option("HST", help="MAST collection: HST or JWST"),
    catalog: str | None = typer.Option(
        None, help="Abstracts catalog, a file or URL (default: PAPERCLIP_ABSTRACTS_URL)"
    ),
    cycles: str | None = typer.Option(None, help="Only these cycles, comma separated: 30,31"),
    proposals: str | None = typer.Option(None, help="Only these proposal ids, comma separated"),
    limit: int | None = typer.Option(None, help="At most this many proposals (lowest ids first)"),
    per_proposal: int | None = typer.Option(None, help="Previews per proposal (default 20)"),
    seed: int = typer.Option(0, help="Seed of the per-proposal preview sample"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Retry what failed before"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Ask MAST and print what would be fetched; download and store nothing"
    ),
) -> None:
    """Harvest proposal abstracts and preview images from MAST (resumable: rerun to continue)."""
    from indexer.harvest.catalog import CatalogUnreadable
    from indexer.harvest.run import harvest

    try:
        cycle_list = [int(c) for c in _ids(cycles) or []] or None
    except ValueError:
        raise typer.BadParameter(f"not a list of cycle numbers: {cycles}", param_hint="--cycles") from None
    try:
        summary = harvest(
            collection=collection,
            catalog=catalog,
            cycles=cycle_list,
            proposals=_ids(proposals),
            limit=limit,
            per_proposal=per_proposal,
            seed=seed,
            retry_failed=retry_failed,
            dry_run=dry_run,
            echo=typer.echo,
        )
    except CatalogUnreadable as e:
        raise typer.BadParameter(str(e), param_hint="--catalog") from None
    for line in summary.lines():
        typer.echo(line)


def import_command(
    manifest: Path = typer.Argument(..., help="CSV or JSONL: image, group, text, optional metadata"),
    collection: str = typer.Option("CUSTOM", help="Collection name the rows are filed under"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Retry rows that failed before"),
) -> None:
    """Import your own images and texts through the same processing as the harvest (resumable)."""
    from indexer.harvest.importer import import_manifest

    try:
        summary = import_manifest(manifest, collection, retry_failed=retry_failed)
    except FileNotFoundError as e:
        raise typer.BadParameter(str(e), param_hint="MANIFEST") from None
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--collection") from None
    for line in summary.lines():
        typer.echo(line)
    if summary.failed and not retry_failed:
        typer.echo("failed rows are in the ledger; fix them and rerun with --retry-failed")
