"""Tower features cached on disk, so a frozen-tower run trains its projections (or the paper's
MLP head) in seconds.

Each image's trunk features are computed once per augmentation view and stored under
``cache/features/<model key>/<preview sha>-<view>.npy``; the key covers the image tower's
content hash, the config and the augmentation geometry, so a changed model never reads stale features.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from paperclip.model import ClipModel, state_sha256
from paperclip.storage import atomic_write
from training.augment import PaperTransform, view_seed
from training.modes import without_projections

EVAL_VIEW = -1


def model_key(clip: ClipModel, transform: PaperTransform) -> str:
    """The image tower's weights without its projection, which cached features never pass through
    (a projection-only run changes it; a fresh init draws it with thread-dependent last bits)."""
    with without_projections(clip.model):
        tower = state_sha256(clip.model.visual)
    geometry = [transform.size, transform.image_size, transform.flips, clip.precision]
    blob = json.dumps([tower, clip.config, geometry], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def pixels(transform: PaperTransform, image: Path, view: int) -> torch.Tensor:
    with Image.open(image) as im:
        return transform.eval(im) if view == EVAL_VIEW else transform.train(im, view_seed(image, view))


class FeatureCache:
    """Pre-projection image features per (image, view) and text features per caption."""

    def __init__(self, clip: ClipModel, transform: PaperTransform, root: Path, batch_size: int = 32):
        self.clip, self.transform, self.batch_size = clip, transform, batch_size
        self.root = root / "features" / model_key(clip, transform)
        self.root.mkdir(parents=True, exist_ok=True)

    def images(self, paths: Sequence[Path], views: Sequence[int], desc: str) -> np.ndarray:
        """(len(paths), len(views), D) float32; computes only what is not on disk yet."""
        unique = list(dict.fromkeys(paths))
        files = {
            (p, v): self.root / f"{p.stem}-{'eval' if v == EVAL_VIEW else v}.npy"
            for p in unique
            for v in views
        }
        jobs = [job for job, file in files.items() if not file.is_file()]
        with tqdm(total=len(jobs), desc=desc, unit="img", disable=not jobs) as bar:
            for i in range(0, len(jobs), self.batch_size):
                chunk = jobs[i : i + self.batch_size]
                out = self._encode_pixels(torch.stack([pixels(self.transform, p, v) for p, v in chunk]))
                for job, row in zip(chunk, out, strict=True):
                    atomic_write(files[job], _npy_bytes(row))
                bar.update(len(chunk))
        return np.stack([np.stack([np.load(files[p, v]) for v in views]) for p in paths])

    def texts(self, texts: Sequence[str]) -> np.ndarray:
        unique = list(dict.fromkeys(texts))
        rows = []
        for i in range(0, len(unique), 256):
            tokens = self.clip.tokenizer(unique[i : i + 256]).to(self.clip.device)
            with torch.inference_mode(), without_projections(self.clip.model), self.clip.autocast():
                rows.append(self.clip.model.encode_text(tokens).float().cpu().numpy())
        table = dict(zip(unique, np.concatenate(rows), strict=True))
        return np.stack([table[t] for t in texts])

    def _encode_pixels(self, batch: torch.Tensor) -> np.ndarray:
        with torch.inference_mode(), without_projections(self.clip.model), self.clip.autocast():
            return self.clip.model.encode_image(batch.to(self.clip.device)).float().cpu().numpy()


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array.astype(np.float32))
    return buf.getvalue()
