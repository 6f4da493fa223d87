"""``paperclip caption``: fill the captions table (raw variant plus one summary generator), or
explain and compare what is in it."""

from __future__ import annotations

import typer


def caption(
    generator: str = typer.Option(
        "auto",
        "--generator",
        "-g",
        help="auto (llm when PAPERCLIP_LLM_BASE_URL and _MODEL are set, else extract), extract or llm",
    ),
    retry_failed: bool = typer.Option(
        True, "--retry-failed/--no-retry-failed", help="Retry proposals whose earlier attempt failed"
    ),
    limit: int | None = typer.Option(None, min=1, help="Only the first N proposals (to try a prompt)"),
    explain: str | None = typer.Option(
        None,
        "--explain",
        metavar="PROPOSAL",
        help="Print this proposal's captions and the abstract's words behind each extracted term",
    ),
    collection: str | None = typer.Option(
        None, help="With --explain: the proposal's collection (HST, JWST, ...)"
    ),
    compare: bool = typer.Option(
        False, "--compare", help="Print extractor terms beside LLM terms for proposals that have both"
    ),
) -> None:
    """Caption every proposal: raw abstracts and structured summaries, cached and resumable."""
    if explain is not None or compare:
        from paperclip.db import session_scope
        from training.captions.audit import ProposalNotFound, compare_lines, explain_lines

        with session_scope() as session:
            try:
                lines = (
                    explain_lines(session, explain, collection)
                    if explain is not None
                    else compare_lines(session, limit)
                )
            except ProposalNotFound as err:
                raise typer.BadParameter(str(err), param_hint="--explain") from err
        typer.echo("\n".join(lines))
        return

    from training.captions.run import run_captions

    try:
        summary = run_captions(generator, retry_failed=retry_failed, limit=limit)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--generator") from err
    typer.echo(summary.report())


def register(app: typer.Typer) -> None:
    app.command("caption")(caption)
