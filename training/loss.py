"""Contrastive losses with negatives gathered across ranks.

Features are all-gathered with gradients, so every rank computes the loss of the whole global
batch; under DDP's gradient averaging this equals the single-process gradient exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate a tensor over ranks, keeping the autograd path to this rank's part."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x), dim=0)


def scale_of(logit_scale: torch.Tensor, paper_scale: bool) -> torch.Tensor:
    """The multiplier of the cosine similarities.

    Standard CLIP: ``exp(logit_scale)``: 100 from the OpenAI weights (parameter ln 100 = 4.605),
    14.3 from a random init (ln 1/0.07 = 2.659). ``paper_scale=True`` reproduces the PAPERCLIP
    code, which multiplies by the raw parameter: 4.605 from the OpenAI weights, a far softer
    temperature. Both are capped by clamping the parameter after each step.
    """
    return logit_scale if paper_scale else logit_scale.exp()


class ContrastiveLoss(nn.Module):
    """Symmetric InfoNCE (``clip``) or pairwise sigmoid (``siglip``, with its own learnable bias)."""

    def __init__(self, kind: str = "clip", paper_scale: bool = False):
        super().__init__()
        if kind not in ("clip", "siglip"):
            raise ValueError(f"unknown loss {kind!r}")
        self.kind, self.paper_scale = kind, paper_scale
        self.logit_bias = nn.Parameter(torch.tensor(-10.0)) if kind == "siglip" else None

    def forward(
        self, image: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor, distributed: bool = True
    ) -> torch.Tensor:
        """``distributed=False`` scores only this rank's batch (validation runs whole on every rank)."""
        image, text = F.normalize(image.float(), dim=-1), F.normalize(text.float(), dim=-1)
        if distributed:
            image, text = gather(image), gather(text)
        logits = scale_of(logit_scale.float(), self.paper_scale) * image @ text.T
        if self.kind == "siglip":
            logits = logits + self.logit_bias
            labels = 2 * torch.eye(len(image), device=image.device) - 1
            return -F.logsigmoid(labels * logits).sum() / len(image)
        target = torch.arange(len(image), device=image.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def clamp_logit_scale(logit_scale: torch.Tensor, max_scale: float, paper_scale: bool) -> None:
    with torch.no_grad():
        logit_scale.clamp_(0, max_scale if paper_scale else math.log(max_scale))
