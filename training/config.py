"""One config object per training run, built from a named recipe, a YAML/TOML file and overrides."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["full", "frozen", "image-projection", "head", "lora", "lock-image", "lock-text"]


class TrainConfig(BaseModel):
    """Everything a run needs; saved beside its checkpoints so a resume or a reader sees the same."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str = Field(description="checkpoint name in the checkpoints table (and its folder)")
    recipe: str = "custom"
    model: str = Field("lite", description="base model spec for paperclip.model.load_model")
    mode: Mode = "full"
    variant: Literal["summary", "raw", "both", "varied"] = "summary"

    # Optimisation
    optimizer: Literal["adamw", "sgd"] = "adamw"  # sgd: plain gradient steps (no momentum)
    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-5
    weight_decay: float = 1e-3
    decay_all: bool = Field(
        False,
        description="weight decay on every parameter (optax adamw) instead of matrices only (open_clip)",
    )
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    warmup: int = 100
    warmup_from_zero: bool = Field(
        False, description="the first step's lr is 0 (optax linear_schedule from 0); else lr / warmup"
    )
    schedule: Literal["constant", "cosine"] = "constant"  # both after a linear warm-up
    grad_accum: int = 1  # micro-batches per step; each has its own in-batch negatives
    grad_clip: float | None = None

    # Loss
    loss: Literal["clip", "siglip"] = "clip"
    paper_scale: bool = Field(
        False,
        description="reproduce the PAPERCLIP code: multiply logits by the raw logit_scale, not its exp",
    )
    max_logit_scale: float = 100.0

    # Head mode: the paper's MLP over frozen towers
    head_hidden: int = 1024

    # LoRA
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0

    # Data
    split_seed: int = 0
    val_fraction: float = 0.1
    proposal_sampler: bool = True  # no two images of one proposal in a batch
    augment: bool = True  # rot90, flips, random crop
    flips: bool = True  # the released code flips too; the paper's text names rot90 and the crop only
    native_crop: bool = True  # the paper's crop of 224 from 512 px without rescaling (else whole image)
    eval_augment: bool = (
        False  # validate on the training augmentation (the released code) instead of the centre crop
    )
    feature_views: int = 8  # frozen and head modes: cached augmented views per image
    workers: int = 0

    # Engine
    seed: int = 0
    device: str = "auto"
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16: autocast on CUDA (and CPU)
    compile: bool = Field(
        False, description="torch.compile the model; on one GPU also as CUDA graphs (training.compiled)"
    )
    val_every: int = 200
    val_batch: int = 100  # the paper's Fig. 2 metric: text->image top 10 within batches of this size
    keep_best: int = 2
    log_every: int = 10
    resume: bool = False

    @classmethod
    def from_recipe(cls, recipe: str, **overrides: Any) -> TrainConfig:
        if recipe not in RECIPES:
            raise ValueError(f"unknown recipe {recipe!r}; choose one of {sorted(RECIPES)}")
        values = {"name": f"paperclip-{recipe}", "recipe": recipe, **RECIPES[recipe]}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def from_file(cls, path: Path, **overrides: Any) -> TrainConfig:
        """A YAML or TOML file of fields; a ``recipe`` key in it names the starting recipe."""
        text = path.read_text()
        if path.suffix == ".toml":
            values = tomllib.loads(text)
        else:
            import yaml

            values = yaml.safe_load(text) or {}
        if not isinstance(values, dict):
            raise ValueError(f"{path}: expected a mapping of config fields")
        recipe = overrides.pop("recipe", None) or values.pop("recipe", None)
        merged = {**values, **{k: v for k, v in overrides.items() if v is not None}}
        return cls.from_recipe(recipe, **merged) if recipe else cls(**merged)


# The paper's text (arXiv 2403.08851, Sec. 3 and App. A). Where it names a method without its
# constants ("AdamW", "linear warm-up") the method's own defaults apply. docs/training.md has the
# table of every field against the released code.
PAPER = {
    "model": "ViT-B-16:openai",
    "mode": "full",
    "steps": 20_000,
    "batch_size": 32,
    "lr": 1e-5,
    "weight_decay": 1e-3,
    "decay_all": True,
    "betas": (0.9, 0.999),
    "eps": 1e-8,
    "warmup": 2_000,
    "warmup_from_zero": True,
    "schedule": "constant",
    "paper_scale": False,  # "temperature initialised to its pre-trained value": logits x 100
    "flips": False,  # "random four-fold rotations" and the crop
    "proposal_sampler": False,  # plain shuffled batches: the paper accepts same-abstract negatives
    "precision": "fp32",
    "val_every": 1_000,
    "workers": 8,
    "compile": True,
}

# The released code (github.com/smsharma/PAPERCLIP-Hubble: configs/base.py, train.py, models/):
# optax.adamw defaults, linear_schedule from 0, logits times the raw logit_scale parameter,
# flips as well as rotations, validation every 200 steps on augmented images, best 3 kept.
PAPER_CODE = {
    **PAPER,
    "paper_scale": True,
    "flips": True,
    "eval_augment": True,
    "val_every": 200,
    "keep_best": 3,
}

RECIPES: dict[str, dict[str, Any]] = {
    "paper": PAPER,
    "paper-code": PAPER_CODE,
    # The paper's best ablation: same run with cosine decay after the warm-up.
    "cosine": {**PAPER, "schedule": "cosine"},
    # Offline default on CPU: frozen towers, the image projection trained on cached features (seconds
    # per epoch) against the sentence model's own space (the text projection stays at its
    # semi-orthogonal start), with varied captions (summary, rephrasings, synonyms, raw abstract
    # windows; one drawn per step). Chosen on free-form and vocabulary-term precision@10
    # (benchmarks/bench_freeform.py; docs/training.md has the table).
    "lite": {
        "model": "lite",
        "mode": "image-projection",
        "variant": "varied",
        "steps": 1000,
        "batch_size": 64,
        "lr": 1e-3,
        "weight_decay": 0.1,
        "warmup": 50,
        "schedule": "cosine",
        "feature_views": 2,
        "val_every": 100,
    },
    # Seconds on CPU, for tests.
    "tiny": {
        "model": "tiny",
        "mode": "full",
        "steps": 30,
        "batch_size": 8,
        "lr": 1e-3,
        "weight_decay": 0.0,
        "warmup": 3,
        "schedule": "constant",
        "val_every": 10,
        "log_every": 5,
        "feature_views": 2,
    },
}
