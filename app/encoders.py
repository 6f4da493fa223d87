"""The model's encoders as the service calls them: a list of texts or previews in, unit vectors out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image


def text_encoder(model: Any, compile_text: bool) -> Callable[[list[str]], np.ndarray]:
    """The model's text encoder, made cheaper for short queries.

    - Hugging Face text towers (lite) mask padding, so trailing pad columns are cut: the same
      vectors, several times less work for a five-word query than for 77 tokens.
    - With ``compile_text`` on a GPU: torch.compile with CUDA graphs; batches are padded to a
      power of two so only a few graph shapes exist.
    """
    import torch
    import torch.nn.functional as F
    from open_clip.hf_model import HFTextEncoder

    text = getattr(model.model, "text", None)
    pad = text.config.pad_token_id if isinstance(text, HFTextEncoder) else None
    if not (compile_text and model.device.type == "cuda"):

        def encode(texts: list[str]) -> np.ndarray:
            tokens = model.tokenizer(texts)
            if pad is not None:
                tokens = tokens[:, : int((tokens != pad).any(0).nonzero().max()) + 1]
            return model.encode_text_tensor(tokens).cpu().numpy()

        return encode

    compiled = torch.compile(model.model.encode_text, mode="reduce-overhead", dynamic=False)

    def encode_compiled(texts: list[str]) -> np.ndarray:
        tokens = model.tokenizer(texts)
        size = 1 << (len(texts) - 1).bit_length()
        tokens = torch.cat([tokens, tokens[:1].expand(size - len(texts), -1)]).to(model.device)
        with torch.inference_mode(), model.autocast():
            out = compiled(tokens)
        return F.normalize(out.float(), dim=-1).cpu().numpy()

    return encode_compiled


def image_encoder(model: Any) -> Callable[[list[Image.Image]], np.ndarray]:
    """Previews (``paperclip.imaging.to_preview``) to vectors, one forward pass per batch."""

    def encode(previews: list[Image.Image]) -> np.ndarray:
        return model.encode_images(previews, batch_size=max(1, len(previews)))

    return encode
