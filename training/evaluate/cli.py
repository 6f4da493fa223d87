"""``paperclip evaluate``: compare checkpoints on the validation split."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer


def evaluate_command(
    checkpoints: str = typer.Option(
        "base", "--checkpoints", "-c", help="Comma-separated: base, checkpoint names or folders"
    ),
    out: Path | None = typer.Option(None, "--out", help="Report folder (default: reports/eval-<time>)"),
    variant: str = typer.Option("summary", help="Caption variant: summary, raw or both"),
    seed: int = typer.Option(0, help="Seeds the shuffled pairs, the panels and a first split"),
    judge: bool | None = typer.Option(
        None, "--judge/--no-judge", help="LLM judge (default: when configured)"
    ),
) -> None:
    """Paper and field metrics for each model, with plots and one HTML report."""
    from paperclip.storage import get_paths
    from training.evaluate.run import evaluate

    out = out or get_paths().reports / f"eval-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    try:
        metrics = evaluate(checkpoints.split(","), out, variant=variant, seed=seed, judge=judge)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for label, m in metrics["models"].items():
        i2t, t2i = m["image_to_text"], m["text_to_image"]
        typer.echo(
            f"{label:>20}  AUC i->t {i2t['auc']:.3f} t->i {t2i['auc']:.3f}  "
            f"R@10 {i2t['recall_at_10']:.3f}/{t2i['recall_at_10']:.3f}  MRR {i2t['mrr']:.3f}/{t2i['mrr']:.3f}"
        )
    for label, why in metrics["skipped"].items():
        typer.echo(f"{label:>20}  skipped: {why}")
    typer.echo(f"report: {out / 'report.html'}")


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
