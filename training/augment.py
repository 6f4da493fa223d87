"""The paper's augmentation: random rot90, flips (optional) and a crop of the 512 px preview at native scale.

Sky images have no preferred orientation, so the eight dihedral symmetries are free data; the
crop keeps the pixel scale instead of rescaling. For models whose input is not 224 px the
preview is first resized so the crop covers the same share of the sky (224/512). Every
random choice comes from a per-sample seed, so a resumed run sees exactly the same pixels.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import torch
from PIL import Image
from torchvision.transforms import functional as TF

PREVIEW_SIZE = 512
PAPER_CROP = 224


def working_size(image_size: int, native_crop: bool = True) -> int:
    """The side the preview is brought to before cropping ``image_size`` pixels.

    Without ``native_crop`` the crop is the whole image (only the symmetries augment), which
    matches a base model's plain resize.
    """
    return round(image_size * PREVIEW_SIZE / PAPER_CROP) if native_crop else image_size


def view_seed(image: Path, view: int) -> int:
    """The augmentation seed of one view of one preview: a function of its content-addressed name,
    so every model and every run draws the same crops for it."""
    return int.from_bytes(hashlib.sha256(f"{image.stem}:{view}".encode()).digest()[:8], "little")


class PaperTransform:
    """PIL preview -> normalised tensor; ``train`` draws the augmentation from ``seed``."""

    def __init__(
        self,
        image_size: int,
        mean: list[float],
        std: list[float],
        native_crop: bool = True,
        flips: bool = True,
    ):
        self.image_size = image_size
        self.size = working_size(image_size, native_crop)
        self.mean, self.std = list(mean), list(std)
        self.flips = flips

    @classmethod
    def for_model(cls, config: dict, native_crop: bool = True, flips: bool = True) -> PaperTransform:
        """The transform for a model's input size and normalisation (``ClipModel.config``)."""
        return cls(int(config["image_size"]), config["mean"], config["std"], native_crop, flips)

    def _base(self, image: Image.Image) -> Image.Image:
        image = image.convert("RGB")
        if image.size != (self.size, self.size):
            image = image.resize((self.size, self.size), Image.Resampling.BICUBIC)
        return image

    def _to_tensor(self, image: Image.Image) -> torch.Tensor:
        return TF.normalize(TF.to_tensor(image), self.mean, self.std)

    def eval(self, image: Image.Image) -> torch.Tensor:
        """The centre crop: what the exported checkpoint's preprocessing reproduces."""
        return self._to_tensor(TF.center_crop(self._base(image), [self.image_size]))

    def train(self, image: Image.Image, seed: int) -> torch.Tensor:
        rng = random.Random(seed)
        image = self._base(image)
        margin = self.size - self.image_size
        left, top = rng.randint(0, margin), rng.randint(0, margin)
        image = image.crop((left, top, left + self.image_size, top + self.image_size))
        flip_lr, flip_tb = rng.random() < 0.5, rng.random() < 0.5  # drawn either way: same crops
        if self.flips and flip_lr:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if self.flips and flip_tb:
            image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        turns = rng.randrange(4)
        if turns:
            image = image.rotate(90 * turns)
        return self._to_tensor(image)
