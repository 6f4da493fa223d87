"""The model's encoders as the service calls them: a list of texts or previews in, unit vectors out.

On a CPU, a Hugging Face text tower (lite's MiniLM) runs in ONNX Runtime when it agrees with the
torch tower: the tower is exported once per weights (cached by their hash) and checked at load on
probe texts; it is used only if every probe keeps cosine >= ``ONNX_MIN_COSINE`` to torch. torch's
own int8 dynamic quantization was measured and refused (cosine down to 0.89, benchmarks/README.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

log = logging.getLogger("paperclip.app")
ONNX_MIN_COSINE = 0.99
PROBES = (
    "strong gravitational lensing",
    "globular clusters in the halo of M31",
    "a protoplanetary disk around a young star imaged in the near infrared",
    "Jupiter aurora",
    "supernova remnant shock fronts and filaments of ionised gas",
    "high redshift galaxies in a deep field",
    "x",
    "interacting galaxies with tidal tails, dust lanes and bursts of star formation " * 3,
)


def text_encoder(
    model: Any, compile_text: bool, runtime: str = "torch", cache: Path | None = None
) -> Callable[[list[str]], np.ndarray]:
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

    def tokens_of(texts: list[str]) -> Any:
        tokens = model.tokenizer(texts)
        if pad is not None:
            tokens = tokens[:, : int((tokens != pad).any(0).nonzero().max()) + 1]
        return tokens

    if not (compile_text and model.device.type == "cuda"):

        def encode(texts: list[str]) -> np.ndarray:
            return model.encode_text_tensor(tokens_of(texts)).cpu().numpy()

        if runtime == "onnx" and pad is not None and model.device.type == "cpu" and cache is not None:
            return _onnx_if_faithful(text, tokens_of, encode, cache) or encode
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


def _onnx_if_faithful(
    tower: Any,
    tokens_of: Callable[[list[str]], Any],
    reference: Callable[[list[str]], np.ndarray],
    cache: Path,
) -> Callable[[list[str]], np.ndarray] | None:
    """The tower in ONNX Runtime, or None when unavailable or not faithful to ``reference``."""
    try:
        import onnxruntime as ort

        path = _export(tower, tokens_of, cache)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = os.cpu_count() or 1
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "0"
        )  # idle threads yield the cores
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # no onnxruntime, or the tower does not export: torch serves
        log.warning("ONNX text encoder unavailable (%s); using torch", e)
        return None

    def encode(texts: list[str]) -> np.ndarray:
        return session.run(None, {"ids": tokens_of(texts).numpy()})[0]

    probes = list(PROBES)
    cosine = float(np.min(np.sum(encode(probes) * reference(probes), axis=1)))
    if cosine < ONNX_MIN_COSINE:
        log.warning("ONNX text encoder refused: cosine %.4f to torch < %s", cosine, ONNX_MIN_COSINE)
        return None
    log.info("text encoder in ONNX Runtime (lowest probe cosine to torch %.6f)", cosine)
    return encode


def _export(tower: Any, tokens_of: Callable[[list[str]], Any], cache: Path) -> Path:
    """Export ``tower`` (ids -> unit vectors) once per weights; later loads reuse the file."""
    import torch
    import torch.nn.functional as F

    from paperclip.model import state_sha256

    path = cache / "onnx" / f"text-{state_sha256(tower)[:24]}.onnx"
    if path.is_file():
        return path

    class Normalised(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tower = tower

        def forward(self, ids: Any) -> Any:
            return F.normalize(self.tower(ids).float(), dim=-1)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    torch.onnx.export(
        Normalised().eval(),
        (tokens_of(list(PROBES[:2])),),
        str(tmp),
        input_names=["ids"],
        output_names=["vectors"],
        dynamic_axes={"ids": {0: "batch", 1: "tokens"}, "vectors": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    os.replace(tmp, path)
    return path
