"""Self-contained checkpoint folders (weights, config, preprocessing, model card), their
registration in the checkpoints table, and WiSE-FT interpolation between two of them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from sqlalchemy import select
from sqlalchemy.orm import Session

from paperclip.db import session_scope, upsert
from paperclip.model import ClipModel, load_model, save_checkpoint
from paperclip.schema import Checkpoint
from paperclip.storage import get_paths
from training.augment import working_size
from training.config import TrainConfig
from training.data import Pair


def _write(clip: ClipModel, out: Path, card: str, extra: dict[str, Any]) -> Path:
    """Write beside the target and swap in, so a crash never leaves half a checkpoint under the name."""
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save_checkpoint(clip, tmp, card=card, extra=extra)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def export_checkpoint(
    clip: ClipModel,
    out: Path,
    config: TrainConfig,
    metrics: dict[str, Any],
    train_pairs: Sequence[Pair],
    val_pairs: Sequence[Pair],
) -> Path:
    """The fine-tuned model as ``load_model(out)`` opens it, with the centre-crop preprocessing it trained for."""
    resize = working_size(clip.image_size, config.native_crop)
    extra = {
        "resize": resize if resize != clip.image_size else None,
        "base_model": config.model,
        "tokenizer": clip.config.get("name", clip.config["arch"]),
        "recipe": config.recipe,
    }
    card = model_card(config, metrics, train_pairs, val_pairs)
    _write(clip, out, card, extra)
    (out / "train_config.json").write_text(config.model_dump_json(indent=2))
    return out


def model_card(
    config: TrainConfig, metrics: dict[str, Any], train_pairs: Sequence[Pair], val_pairs: Sequence[Pair]
) -> str:
    lines = [
        f"# {config.name}",
        "",
        f"PAPERCLIP fine-tune of `{config.model}`, recipe `{config.recipe}`, mode `{config.mode}`, "
        f"captions `{config.variant}`. Exported {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "## Data",
        f"- train: {len(train_pairs)} pairs from {len({p.proposal_pk for p in train_pairs})} proposals",
        f"- validation: {len(val_pairs)} pairs from {len({p.proposal_pk for p in val_pairs})} held-out "
        f"proposals (split seed {config.split_seed}, fraction {config.val_fraction})",
        "- augmentation: "
        + ("random rot90, flips and crop" if config.augment else "none")
        + ("; crop at native scale of the 512 px preview" if config.native_crop else "; whole image"),
        "",
        "## Recipe",
        "| field | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in config.model_dump().items() if k != "name"),
        "",
        "## Metrics (exported state)",
        "| metric | value |",
        "|---|---|",
        *(f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items()),
        "",
        "Load with `paperclip.model.load_model(<this folder>)`.",
        "",
    ]
    return "\n".join(lines)


def register_checkpoint(
    session: Session, name: str, path: Path, base_model: str, recipe: str | None, metrics: dict[str, Any]
) -> None:
    upsert(
        session,
        Checkpoint,
        [
            {
                "name": name,
                "path": str(path.resolve()),
                "base_model": base_model[-128:],  # the column's width; a long folder keeps its name
                "recipe": recipe,
                "metrics": json.loads(json.dumps(metrics)),
            }
        ],
        key=["name"],
    )


def resolve_checkpoint(session: Session, spec: str) -> str:
    """A checkpoint name from the table becomes its folder; anything else is a model spec as is."""
    path = session.scalar(select(Checkpoint.path).where(Checkpoint.name == spec))
    return path or spec


def wise_ft(base: str, finetuned: str, alpha: float, name: str) -> Path:
    """WiSE-FT: weights (1 - alpha) * base + alpha * fine-tuned, exported and registered as ``name``.

    Robust fine-tuning's weight-space ensemble keeps the base model's breadth while gaining the
    fine-tune's accuracy; alpha 0 is the base, 1 the fine-tune.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    with session_scope() as session:
        base_spec, tuned_spec = resolve_checkpoint(session, base), resolve_checkpoint(session, finetuned)
    tuned = load_model(tuned_spec, device="cpu")
    base_model = load_model(base_spec, device="cpu")
    a, b = base_model.model.state_dict(), tuned.model.state_dict()
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        raise ValueError(f"{base} and {finetuned} are different architectures; WiSE-FT needs the same one")
    mixed = {k: torch.lerp(a[k], b[k], alpha) if b[k].is_floating_point() else b[k] for k in b}
    tuned.model.load_state_dict(mixed)
    out = get_paths().ensure().checkpoints / name
    card = f"# {name}\n\nWiSE-FT: (1 - {alpha}) x `{base}` + {alpha} x `{finetuned}`.\n"
    _write(tuned, out, card, {"wise_ft": {"base": base, "finetuned": finetuned, "alpha": alpha}})
    with session_scope() as session:
        register_checkpoint(session, name, out, base, "wise-ft", {"alpha": alpha})
    return out
