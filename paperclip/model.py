"""Model loading for every layer: one ``load_model(spec)`` and one checkpoint format.

Specs:
- ``lite``: paperclip-lite, the offline default (see ``paperclip.lite``);
- ``tiny``: a tiny random open_clip CLIP for fast tests;
- ``NAME`` or ``NAME:PRETRAINED``: any open_clip model, e.g. ``ViT-B-16:openai``;
- a directory written by ``save_checkpoint`` (training's export).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from paperclip.lite import LITE_CONFIG, build_lite, lite_tokenizer

CONFIG_FILE = "paperclip_model.json"
WEIGHTS_FILE = "model.safetensors"

TINY_CONFIG: dict[str, Any] = {
    "arch": "tiny",
    "embed_dim": 32,
    "image_size": 64,
    "mean": [0.5, 0.5, 0.5],
    "std": [0.5, 0.5, 0.5],
    "context_length": 77,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def resolve_device(choice: str = "auto") -> torch.device:
    if choice != "auto":
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass
class ClipModel:
    """A CLIP model with its preprocessing and tokenizer; encoders return L2-normalised float32."""

    model: nn.Module
    preprocess: Callable[[Image.Image], torch.Tensor]
    tokenizer: Callable[[Sequence[str]], torch.Tensor]
    config: dict[str, Any]
    spec: str
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

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
        """bf16 on CUDA, full precision elsewhere."""
        if self.device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
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


def _transform(config: dict[str, Any]) -> Callable[[Image.Image], torch.Tensor]:
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
        config["image_size"], is_train=False, mean=tuple(config["mean"]), std=tuple(config["std"])
    )


def _build(config: dict[str, Any], pretrained: bool) -> tuple[nn.Module, Callable]:
    """Architecture (and, with ``pretrained``, its starting weights) from a config dict."""
    import open_clip

    arch = config["arch"]
    if arch == "lite":
        return build_lite(pretrained=pretrained), lite_tokenizer(config["context_length"])
    if arch == "tiny":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = open_clip.CLIP(config["embed_dim"], config["vision_cfg"], config["text_cfg"])
        return model, open_clip.get_tokenizer("ViT-B-16", context_length=config["context_length"])
    if arch == "open_clip":
        model = open_clip.create_model(
            config["name"], pretrained=config.get("pretrained") if pretrained else None
        )
        return model, open_clip.get_tokenizer(config["name"])
    raise ValueError(f"unknown model arch {arch!r}")


def _open_clip_config(name: str, pretrained: str | None) -> dict[str, Any]:
    import open_clip

    cfg = open_clip.get_model_config(name)
    if cfg is None:
        raise ValueError(f"unknown open_clip model {name!r}")
    pre = open_clip.get_pretrained_cfg(name, pretrained) if pretrained else {}
    return {
        "arch": "open_clip",
        "name": name,
        "pretrained": pretrained,
        "embed_dim": cfg["embed_dim"],
        "image_size": cfg["vision_cfg"].get("image_size", 224),
        "mean": list(pre.get("mean", open_clip.OPENAI_DATASET_MEAN)),
        "std": list(pre.get("std", open_clip.OPENAI_DATASET_STD)),
        "context_length": cfg["text_cfg"].get("context_length", 77),
    }


def spec_config(spec: str) -> dict[str, Any]:
    """The architecture config a spec names (a checkpoint's is read from its folder)."""
    path = Path(spec).expanduser()
    if (path / CONFIG_FILE).is_file():
        return json.loads((path / CONFIG_FILE).read_text())
    if spec == "lite":
        return dict(LITE_CONFIG)
    if spec == "tiny":
        return json.loads(json.dumps(TINY_CONFIG))
    name, _, pretrained = spec.partition(":")
    return _open_clip_config(name, pretrained or None)


def load_model(spec: str | Path, device: str | torch.device | None = "auto") -> ClipModel:
    spec = str(spec)
    config = spec_config(spec)
    path = Path(spec).expanduser()
    is_checkpoint = (path / CONFIG_FILE).is_file()
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
    device = resolve_device(device) if isinstance(device, str) else (device or torch.device("cpu"))
    return ClipModel(
        model, _transform(config), tokenizer, config, str(path.resolve()) if is_checkpoint else spec
    ).to(device)


def save_checkpoint(
    clip: ClipModel, directory: Path, card: str | None = None, extra: dict[str, Any] | None = None
) -> Path:
    """Write a self-contained folder that ``load_model(directory)`` opens."""
    from safetensors.torch import save_model

    directory.mkdir(parents=True, exist_ok=True)
    config = {**clip.config, **(extra or {})}
    save_model(clip.model, str(directory / WEIGHTS_FILE))
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True))
    if card is not None:
        (directory / "README.md").write_text(card)
    return directory
