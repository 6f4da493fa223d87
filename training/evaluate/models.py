"""Which models one evaluation compares: ``base``, checkpoint names and paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from paperclip.checkpoints import find_checkpoint
from paperclip.model import CONFIG_FILE, spec_config

BASE = "base"
OFFLINE_BASE = "lite"


@dataclass(frozen=True)
class ModelSpec:
    label: str  # the name plots and the metrics JSON use
    spec: str  # what load_model() takes
    checkpoint_pk: int | None = None  # the checkpoints row the metrics are stored on


def _base_of(session: Session, spec: str, base_model: str | None) -> str:
    """The model a checkpoint started from: its row's or config's base_model, else its architecture."""
    config = spec_config(spec)
    base_model = base_model or config.get("base_model")
    if base_model:
        row = find_checkpoint(session, base_model)
        return row.path if row else base_model
    if config.get("arch") == "open_clip":
        return f"{config['name']}:{config['pretrained']}" if config.get("pretrained") else config["name"]
    return str(config.get("arch", OFFLINE_BASE))


def resolve_models(session: Session, names: list[str]) -> list[ModelSpec]:
    """Resolve names in order, with ``base`` first (added when missing).

    ``base`` is the base model of the first checkpoint named (``lite`` when none is); any other
    name is a row of the checkpoints table (a name for its newest version, ``name@vN``, or a
    registered folder) or a checkpoint folder; its label is the name as given.
    """
    names = [n.strip() for n in names if n.strip()]
    resolved: list[ModelSpec] = []
    base_spec: str | None = None
    for name in dict.fromkeys(names):
        if name == BASE:
            continue
        row = find_checkpoint(session, name)
        if row is not None:
            spec = row.path
        elif (Path(name).expanduser() / CONFIG_FILE).is_file():
            spec = str(Path(name).expanduser().resolve())
        else:
            raise ValueError(f"{name!r} is neither 'base', a checkpoint name nor a checkpoint folder")
        if Path(name).expanduser().is_dir():  # a folder: labelled by the checkpoint it holds
            written = spec_config(spec).get("checkpoint")
            label = f"{written['name']}@v{written['version']}" if written else Path(spec).name
        else:
            label = name
        resolved.append(ModelSpec(label, spec, row.id if row else None))
        if base_spec is None:
            base_spec = _base_of(session, spec, row.base_model if row else None)
    labels = [m.label for m in resolved]
    if len(set(labels)) != len(labels) or BASE in labels:
        raise ValueError(f"model labels must be distinct and not {BASE!r}: {labels}")
    return [ModelSpec(BASE, base_spec or OFFLINE_BASE), *resolved]
