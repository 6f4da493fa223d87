"""``paperclip train`` and ``paperclip wise-ft``."""

from __future__ import annotations

from pathlib import Path

import typer


def train_command(
    recipe: str = typer.Option("lite", help="paper | paper-code | cosine | lite | tiny"),
    config_file: Path | None = typer.Option(None, "--config", help="YAML or TOML file of TrainConfig fields"),
    name: str | None = typer.Option(
        None, help="checkpoint name (default paperclip-<recipe>); an existing name gets a new version"
    ),
    model: str | None = typer.Option(None, help="base model spec (lite, tiny, ViT-B-16:openai, a folder)"),
    mode: str | None = typer.Option(None, help="full | frozen | head | lora | lock-image | lock-text"),
    variant: str | None = typer.Option(None, help="caption variant: summary | raw | both"),
    steps: int | None = typer.Option(None),
    batch_size: int | None = typer.Option(None),
    lr: float | None = typer.Option(None),
    schedule: str | None = typer.Option(None, help="constant | cosine (after warm-up)"),
    loss: str | None = typer.Option(None, help="clip | siglip"),
    device: str | None = typer.Option(None),
    precision: str | None = typer.Option(None, help="fp32 | bf16 (autocast)"),
    workers: int | None = typer.Option(None),
    seed: int | None = typer.Option(None),
    compile: bool | None = typer.Option(None, "--compile/--no-compile"),
    resume: bool = typer.Option(False, help="continue the run of this name from its last state"),
    set_: list[str] = typer.Option([], "--set", help="any other field as KEY=VALUE (repeatable)"),
) -> None:
    """Fine-tune a CLIP model on the archive's image-caption pairs and register the checkpoint."""
    from training.config import TrainConfig
    from training.train import train

    overrides = {
        "name": name,
        "model": model,
        "mode": mode,
        "variant": variant,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "schedule": schedule,
        "loss": loss,
        "device": device,
        "precision": precision,
        "workers": workers,
        "seed": seed,
        "compile": compile,
        "resume": resume or None,
    }
    for item in set_:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip().replace("-", "_")] = value
    try:
        if config_file is not None:
            config = TrainConfig.from_file(config_file, recipe=recipe, **overrides)
        else:
            config = TrainConfig.from_recipe(recipe, **overrides)
    except ValueError as exc:  # pydantic's ValidationError included
        raise typer.BadParameter(str(exc)) from exc
    path = train(config)
    typer.echo(f"checkpoint {config.name} {path.name}: {path}")


def wise_ft_command(
    finetuned: str = typer.Argument(..., help="fine-tuned checkpoint name or folder"),
    alpha: float = typer.Option(0.5, help="0 = base, 1 = fine-tuned"),
    base: str = typer.Option("lite", help="base model spec or checkpoint name"),
    name: str | None = typer.Option(None, help="new checkpoint name (default <finetuned>-wise<alpha>)"),
) -> None:
    """Export a WiSE-FT interpolation between a base model and a fine-tune."""
    from training.export import wise_ft

    out_name = name or f"{Path(finetuned).name}-wise{alpha:g}"
    path = wise_ft(base, finetuned, alpha, out_name)
    typer.echo(f"checkpoint {out_name}: {path}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("wise-ft")(wise_ft_command)
