"""What a run trains: the whole model, the projections over frozen towers, the image projection
alone (the text tower and its projection keep the pretrained sentence space), the paper's MLP
head over frozen towers, LoRA adapters, or one tower.

Works on open_clip's ``CLIP`` (ViT or tiny: ``visual.proj`` and ``text_projection`` parameters)
and ``CustomTextCLIP`` (paperclip-lite: timm ``visual.head`` and HF ``text.proj`` modules).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from paperclip.model import HeadCLIP, projection_slots

LORA_TARGETS = ["attn", "c_fc", "c_proj", "query", "key", "value", "dense"]
CACHED_MODES = ("frozen", "image-projection", "head")  # towers frozen: trained on cached features


def projection_params(model: nn.Module) -> list[nn.Parameter]:
    params = [model.logit_scale]
    for owner, attr in projection_slots(model):
        obj = getattr(owner, attr)
        params += list(obj.parameters()) if isinstance(obj, nn.Module) else [obj]
    return params


def project(proj: nn.Module | torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    return proj(features) if isinstance(proj, nn.Module) else features @ proj


@contextlib.contextmanager
def without_projections(model: nn.Module) -> Iterator[tuple[nn.Module | torch.Tensor, ...]]:
    """Encoders give tower features (pre-projection) inside; yields the (image, text) projections."""
    saved = [(owner, attr, getattr(owner, attr)) for owner, attr in projection_slots(model)]
    try:
        for owner, attr, obj in saved:
            if isinstance(obj, nn.Module):
                setattr(owner, attr, nn.Identity())
            else:
                owner._parameters[attr] = None  # open_clip skips a None projection
        yield tuple(obj for _, _, obj in saved)
    finally:
        for owner, attr, obj in saved:
            if isinstance(obj, nn.Module):
                setattr(owner, attr, obj)
            else:
                owner._parameters[attr] = obj


def apply_mode(model: nn.Module, mode: str, lora_r: int = 8, lora_alpha: int = 16, lora_dropout: float = 0.0):
    """Set ``requires_grad`` for a mode and return (model, trainable parameters, peft wrapper or None).

    Frozen towers stay in eval mode while training (see ``set_train``): putting BatchNorm in
    train mode, or open_clip's ``lock_image_tower(freeze_bn_stats=True)``, corrupts timm's fused
    BN+activation layers.
    """
    model.requires_grad_(mode == "full")
    peft_model = None
    if mode == "head":
        if not isinstance(model, HeadCLIP):
            raise ValueError("head mode trains a HeadCLIP (paperclip.model.add_head) on cached features")
        for part in (model.image_head, model.text_head):
            part.requires_grad_(True)
        model.logit_scale.requires_grad_(True)
        return [p for p in model.parameters() if p.requires_grad], None
    if mode in ("frozen", "image-projection"):
        pass
    elif mode == "lock-image":
        model.requires_grad_(True)
        model.visual.requires_grad_(False)
    elif mode == "lock-text":
        model.requires_grad_(True)
        text = getattr(model, "text", None)
        if text is not None:
            text.requires_grad_(False)
        else:
            for name in ("transformer", "token_embedding", "ln_final"):
                getattr(model, name).requires_grad_(False)
            model.positional_embedding.requires_grad_(False)
    elif mode == "lora":
        from peft import LoraConfig, get_peft_model

        targets = sorted(
            {
                name.rsplit(".", 1)[-1]
                for name, module in model.named_modules()
                if name.rsplit(".", 1)[-1] in LORA_TARGETS
                and isinstance(module, nn.Linear | nn.MultiheadAttention)
            }
        )
        if not targets:
            raise ValueError("LoRA found no attention or MLP linear layers in this model")
        peft_model = get_peft_model(
            model,
            LoraConfig(r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout, target_modules=targets),
        )
    elif mode != "full":
        raise ValueError(f"unknown mode {mode!r}")
    for p in projection_params(model):  # the heads and temperature train in every mode but LoRA
        p.requires_grad_(mode != "lora")
    if mode == "image-projection":  # queries keep the text tower's own geometry (lite's is semi-orthogonal)
        owner, attr = projection_slots(model)[1]
        text_proj = getattr(owner, attr)
        for p in text_proj.parameters() if isinstance(text_proj, nn.Module) else [text_proj]:
            p.requires_grad_(False)
    model.logit_scale.requires_grad_(True)
    return [p for p in model.parameters() if p.requires_grad], peft_model


def set_train(model: nn.Module, mode: str) -> None:
    """Train mode only where weights move; locked towers keep eval behaviour (BN statistics, dropout)."""
    model.train(mode in ("full", "lora"))
    if mode == "lock-image":
        model.train()
        model.visual.eval()
    elif mode == "lock-text":
        model.train()
        (getattr(model, "text", None) or model.transformer).eval()
    elif mode in CACHED_MODES:
        model.eval()


def merge_lora(peft_model) -> nn.Module:
    """Fold the adapters into the base weights: the exported model is a plain open_clip model."""
    return peft_model.merge_and_unload()
