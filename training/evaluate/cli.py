"""``paperclip evaluate``: compare checkpoints on the validation split."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer


def _with_interval(m: dict, key: str, value: float) -> str:
    ci = m.get("ci95", {}).get(key)
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{value:.3f}"


def evaluate_command(
    checkpoints: str = typer.Option(
        "base", "--checkpoints", "-c", help="Comma-separated: base, checkpoint names (name@vN) or folders"
    ),
    out: Path | None = typer.Option(None, "--out", help="Report folder (default: reports/eval-<time>)"),
    variant: str = typer.Option("summary", help="Caption variant: summary, raw or both"),
    seed: int = typer.Option(0, help="Seeds the shuffled pairs, the panels, the bootstrap and a first split"),
    eval_augment: int = typer.Option(
        0, "--eval-augment", min=0, help="Also N seeded draws of the training augmentation (paper Fig. 3)"
    ),
    judge: bool | None = typer.Option(
        None, "--judge/--no-judge", help="LLM judge (default: when configured)"
    ),
    freeform: Path | None = typer.Option(
        None,
        "--freeform",
        exists=True,
        dir_okay=False,
        help="JSON of free-form queries per class label ({'queries': {label: [...]}}), "
        "reported beside the class queries; the demo's set is tests/data/freeform/queries.json",
    ),
) -> None:
    """Paper and field metrics for each model, with 95% intervals, plots and one HTML report."""
    from paperclip.storage import get_paths
    from training.evaluate.run import evaluate

    out = out or get_paths().reports / f"eval-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    try:
        metrics = evaluate(
            checkpoints.split(","),
            out,
            variant=variant,
            seed=seed,
            judge=judge,
            eval_augment=eval_augment,
            freeform=freeform,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for warning in metrics["warnings"]:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    typer.echo("95% bootstrap intervals over proposals in brackets")
    for label, m in metrics["models"].items():
        lines = [f"{label:>20}"]
        for key, name in (("image_to_text", "i->t"), ("text_to_image", "t->i")):
            block = m[key]
            lines.append(
                f"  {name}: top-10% {_with_interval(m, f'{key}.top_k_accuracy.10', block['top_k_accuracy']['10'])}"
                f"  AUC {_with_interval(m, f'{key}.auc', block['auc'])}"
                f"  R@10 {_with_interval(m, f'{key}.recall_at_10', block['recall_at_10'])}"
                f"  MRR {_with_interval(m, f'{key}.mrr', block['mrr'])}"
            )
        if m.get("class_precision_at_10") is not None:
            line = f"  P@10 class queries (vocabulary terms) {_with_interval(m, 'class_precision_at_10', m['class_precision_at_10'])}"
            if m.get("freeform"):
                p10 = m["freeform"]["precision_at_10"]
                line += f"  free-form queries {_with_interval(m, 'freeform.precision_at_10', p10)}"
            lines.append(line)
        augmented = m.get("eval_augment")
        if augmented:
            auc = "image_to_text.auc"
            lines.append(
                f"  augmented ({augmented['draws']} draws): AUC i->t "
                f"{augmented['mean'][auc]:.3f} +/- {augmented['std'][auc]:.3f}"
            )
        typer.echo("\n".join(lines))
    for label, why in metrics["skipped"].items():
        typer.echo(f"{label:>20}  skipped: {why}")
    typer.echo(f"report: {out / 'report.html'}")


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
