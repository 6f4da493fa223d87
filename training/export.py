"""Immutable checkpoint versions (weights, config, preprocessing, model card), their registration
in the checkpoints table, and WiSE-FT interpolation between two of them.

Every export is a new folder ``checkpoints/<name>/v<N>`` written beside its final name and renamed
into place; a folder once written is never replaced. Its config, its card and its table row carry
the content hash of its weights (``paperclip.model.state_sha256``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from sqlalchemy.orm import Session

from paperclip.checkpoints import find_checkpoint, next_version
from paperclip.db import session_scope, upsert
from paperclip.model import ClipModel, load_model, save_checkpoint, state_sha256
from paperclip.schema import Checkpoint
from paperclip.storage import get_paths
from training.augment import working_size
from training.config import TrainConfig
from training.data import Pair


@dataclass(frozen=True)
class Exported:
    path: Path
    version: int
    weights_sha256: str


def _export(clip: ClipModel, name: str, card: Callable[[int, str], str], extra: dict[str, Any]) -> Exported:
    """Write version N+1 of ``name``; ``card(version, weights_sha256)`` is its model card."""
    root = get_paths().ensure().checkpoints / name
    root.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        version = next_version(session, name, root)
    out = root / f"v{version}"
    sha = state_sha256(clip.model)
    tmp = root / f".v{version}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    save_checkpoint(
        clip, tmp, card=card(version, sha), extra={**extra, "checkpoint": {"name": name, "version": version}}
    )
    if out.exists():  # another writer took the number meanwhile: never replace its folder
        shutil.rmtree(tmp)
        raise FileExistsError(f"{out} appeared while exporting; export again for the next version")
    tmp.rename(out)
    return Exported(out, version, sha)


def export_checkpoint(
    clip: ClipModel,
    config: TrainConfig,
    metrics: dict[str, Any],
    train_pairs: Sequence[Pair],
    val_pairs: Sequence[Pair],
    base_sha256: str,
) -> Exported:
    """The fine-tuned model as ``load_model(path)`` opens it, with the centre-crop preprocessing it trained for."""
    resize = working_size(clip.image_size, config.native_crop)
    extra = {
        "resize": resize if resize != clip.image_size else None,
        "base_model": config.model,
        "base_weights": {**clip.config.get("base_weights", {}), "sha256": base_sha256},
        "tokenizer": clip.config.get("name", clip.config["arch"]),
        "recipe": config.recipe,
    }
    exported = _export(
        clip,
        config.name,
        lambda version, sha: model_card(config, metrics, train_pairs, val_pairs, version, sha, base_sha256),
        extra,
    )
    (exported.path / "train_config.json").write_text(config.model_dump_json(indent=2))
    return exported


def model_card(
    config: TrainConfig,
    metrics: dict[str, Any],
    train_pairs: Sequence[Pair],
    val_pairs: Sequence[Pair],
    version: int,
    weights_sha256: str,
    base_sha256: str,
) -> str:
    lines = [
        f"# {config.name} v{version}",
        "",
        f"PAPERCLIP fine-tune of `{config.model}`, recipe `{config.recipe}`, mode `{config.mode}`, "
        f"captions `{config.variant}`, precision `{config.precision}`. "
        f"Exported {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"- weights sha256 (content of every tensor): `{weights_sha256}`",
        f"- base weights sha256: `{base_sha256}`",
        "",
        "## Data",
        f"- train: {len(train_pairs)} pairs from {len({p.proposal_pk for p in train_pairs})} proposals",
        f"- validation: {len(val_pairs)} pairs from {len({p.proposal_pk for p in val_pairs})} held-out "
        f"proposals (split seed {config.split_seed}, fraction {config.val_fraction})",
        "- augmentation: "
        + (
            ("random rot90, flips and crop" if config.flips else "random rot90 and crop")
            if config.augment
            else "none"
        )
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
    session: Session,
    name: str,
    exported: Exported,
    base_model: str,
    recipe: str | None,
    metrics: dict[str, Any],
) -> None:
    upsert(
        session,
        Checkpoint,
        [
            {
                "name": name,
                "version": exported.version,
                "weights_sha256": exported.weights_sha256,
                "path": str(exported.path.resolve()),
                "base_model": base_model[-128:],  # the column's width; a long folder keeps its name
                "recipe": recipe,
                "metrics": json.loads(json.dumps(metrics)),
            }
        ],
        key=["name", "version"],
    )


def resolve_checkpoint(session: Session, spec: str) -> str:
    """A checkpoint reference (name, ``name@vN``) becomes its folder; anything else is a model spec as is."""
    row = find_checkpoint(session, spec)
    return row.path if row else spec


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
    exported = _export(
        tuned,
        name,
        lambda version, sha: (
            f"# {name} v{version}\n\nWiSE-FT: (1 - {alpha}) x `{base}` + {alpha} x `{finetuned}`.\n\n"
            f"- weights sha256: `{sha}`\n"
        ),
        {"wise_ft": {"base": base, "finetuned": finetuned, "alpha": alpha}},
    )
    with session_scope() as session:
        register_checkpoint(session, name, exported, base, "wise-ft", {"alpha": alpha})
    return exported.path
