"""``paperclip index build|add|verify|activate|list|prune``."""

from __future__ import annotations

import typer

index_app = typer.Typer(help="Embed previews and manage versioned FAISS indexes.", no_args_is_help=True)


def _fail(e: Exception) -> typer.Exit:
    typer.echo(f"error: {e}", err=True)
    return typer.Exit(1)


@index_app.command("build")
def build_cmd(
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        help="Checkpoint name or folder, lite, tiny or NAME:PRETRAINED; default: newest checkpoint, else lite",
    ),
    kind: str = typer.Option(
        "auto",
        help="auto (flat up to PAPERCLIP_INDEX_EXACT_MAX, hnsw up to _INDEX_HNSW_MAX, then ivfpq), flat, hnsw, "
        "ivfpq, or ivfsq8/ivfflat (built on disk by Ray tasks, served memory-mapped)",
    ),
    activate: bool = typer.Option(True, "--activate/--no-activate", help="Serve it once built"),
) -> None:
    """Embed every observation's preview into a new index version (resumes an interrupted build).

    Embedding is a Ray Data job: on this machine by default, on a cluster with RAY_ADDRESS."""
    from indexer.index.versions import build, default_model

    try:
        summary = build(model or default_model(), kind, activate)
    except (LookupError, ValueError) as e:
        raise _fail(e) from e
    typer.echo("\n".join(summary.lines()))


@index_app.command("add")
def add_cmd(
    version: int = typer.Option(None, help="Base version; default: the active one"),
    activate: bool = typer.Option(None, "--activate/--no-activate", help="Default: when the base is active"),
) -> None:
    """A new version with the observations added (and without those deleted) since the base."""
    from indexer.index.versions import add

    try:
        summary = add(version, activate)
    except (LookupError, ValueError) as e:
        raise _fail(e) from e
    typer.echo("\n".join(summary.lines()))


@index_app.command("verify")
def verify_cmd(
    version: int = typer.Option(None, help="Default: the active version"),
    sample: int = typer.Option(8, help="Previews to re-embed and compare"),
) -> None:
    """Check checksums, ids against live rows both ways, and re-embed a sample; exit 1 on problems."""
    from indexer.index.versions import verify

    try:
        report = verify(version, sample)
    except LookupError as e:
        raise _fail(e) from e
    typer.echo("\n".join(report.lines()))
    raise typer.Exit(0 if report.ok else 1)


@index_app.command("activate")
def activate_cmd(version: int = typer.Argument(..., help="Version id (see `paperclip index list`)")) -> None:
    """Serve this version; the running service swaps to it without a restart."""
    from indexer.index.versions import activate

    try:
        activate(version)
    except (LookupError, ValueError) as e:
        raise _fail(e) from e
    typer.echo(f"index version {version} is active")


@index_app.command("list")
def list_cmd() -> None:
    """Every version: id, status, kind, count, model, created."""
    from indexer.index.versions import list_versions

    rows = list_versions()
    if not rows:
        typer.echo("no index versions yet: run `paperclip index build`")
    for r in rows:
        mark = "*" if r.active else " "
        typer.echo(
            f"{mark} {r.id:>4}  {r.status:<8} {r.kind:<6} {r.count:>10,}  {r.dim:>4}-d  "
            f"{r.created_at:%Y-%m-%d %H:%M}  {r.model_spec}"
        )


@index_app.command("prune")
def prune_cmd(
    keep: int = typer.Option(3, help="Ready versions to keep, the active one included"),
    work: bool = typer.Option(False, "--work", help="Also delete idle work folders of interrupted builds"),
) -> None:
    """Delete old and failed versions (folders and rows); the active version always stays."""
    from indexer.index.versions import prune

    removed = prune(keep, work)
    typer.echo(f"removed versions: {removed or 'none'}")


def register_index(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")
