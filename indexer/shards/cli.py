"""``paperclip shards build|verify``."""

from __future__ import annotations

import typer

shards_app = typer.Typer(
    help="Preview shards: previews decoded once, read by training and embedding instead of JPEGs.",
    no_args_is_help=True,
)


@shards_app.command("build")
def build_cmd(
    workers: int = typer.Option(None, help="Decoding threads; default: CPUs, at most 8"),
    records_per_shard: int = typer.Option(None, help="Previews per file; default PAPERCLIP_SHARD_RECORDS"),
) -> None:
    """Decode the previews the shards lack or that changed (run after import or harvest; resumable)."""
    from indexer.shards.build import build

    try:
        summary = build(workers=workers, records_per_shard=records_per_shard)
    except (RuntimeError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    typer.echo("\n".join(summary.lines()))


@shards_app.command("verify")
def verify_cmd(
    sample: int = typer.Option(64, help="Records to re-hash and previews to decode afresh and compare"),
    full: bool = typer.Option(False, "--full", help="Re-hash every record"),
) -> None:
    """Check checksums, hashes, pixels against a fresh decode, and coverage; exit 1 on problems."""
    from indexer.shards.build import verify

    report = verify(sample, full)
    typer.echo("\n".join(report.lines()))
    raise typer.Exit(0 if report.ok else 1)


def register_shards(app: typer.Typer) -> None:
    app.add_typer(shards_app, name="shards")
