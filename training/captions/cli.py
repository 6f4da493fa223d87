"""``paperclip caption``: fill the captions table (raw variant plus one summary generator)."""

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
) -> None:
    """Caption every proposal: raw abstracts and structured summaries, cached and resumable."""
    from training.captions.run import run_captions

    try:
        summary = run_captions(generator, retry_failed=retry_failed, limit=limit)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--generator") from err
    typer.echo(summary.report())


def register(app: typer.Typer) -> None:
    app.command("caption")(caption)
