"""The paper's augmentation (``training.augment``) as batched tensor ops on the model's device.

Input is a whole uint8 batch of 512 px previews, (n, 3, 512, 512), on any device. Each sample's
crop, flips and quarter turns come from ``augment.draw(seed)``, the same draw as the PIL
transform, so the pixels are bit-identical to it; normalisation is torchvision's arithmetic on
float32 (equal on the CPU, within 1e-6 elsewhere). Models whose input is not 224 px first
get the batch resized to their working size (bicubic like PIL's, within one grey level).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from paperclip.preview_batches import Normalize, resize_to
from training.augment import Draw, draw, working_size

Images = torch.Tensor | Sequence[torch.Tensor]


def dihedral(d: Draw) -> tuple[bool, list[int]]:
    """(transpose, flipped dims) with ``flip(transpose(crop))`` equal to PIL's flips then rotation.

    A quarter turn counter-clockwise is a transpose followed by reversing the rows; a flip after
    a transpose reverses the other axis. Dims are of a (C, H, W) tensor.
    """
    transpose, rows, cols = False, d.flip_tb, d.flip_lr
    for _ in range(d.turns):
        transpose, rows, cols = not transpose, not cols, rows
    return transpose, [dim for dim, flip in ((1, rows), (2, cols)) if flip]


class DeviceAugment:
    """Batched ``PaperTransform``: ``train(images, seeds)`` and ``eval(images)`` -> normalised float32.

    ``images`` is a uint8 (n, 3, H, W) tensor or a sequence of (3, H, W) tensors (views of the
    mapped shards: each crop is then the only copy made).
    """

    def __init__(
        self,
        image_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        native_crop: bool = True,
        flips: bool = True,
    ):
        self.image_size = image_size
        self.flips = flips  # False: crop and quarter turns only (the flip draws are still made)
        self.size = working_size(image_size, native_crop)
        self.normalize = Normalize(mean, std)
        centre = int(round((self.size - image_size) / 2.0))  # torchvision's centre crop
        self.centre_draw = Draw(centre, centre, False, False, 0)

    def crops(self, images: Images, seeds: Sequence[int]) -> torch.Tensor:
        """The augmented uint8 crops, (n, 3, image_size, image_size), on the images' device."""
        return self._fill(images, self._draws(seeds), normalize=False)

    def train(self, images: Images, seeds: Sequence[int]) -> torch.Tensor:
        return self._fill(images, self._draws(seeds), normalize=True)

    def eval(self, images: Images) -> torch.Tensor:
        """The centre crop, as ``PaperTransform.eval``."""
        return self._fill(images, [self.centre_draw] * len(images), normalize=True)

    def _draws(self, seeds: Sequence[int]) -> list[Draw]:
        draws = [draw(s, self.size - self.image_size) for s in seeds]
        return draws if self.flips else [d._replace(flip_lr=False, flip_tb=False) for d in draws]

    def _fill(self, images: Images, draws: Sequence[Draw], normalize: bool) -> torch.Tensor:
        s = self.image_size
        dtype = torch.float32 if normalize else torch.uint8
        if not len(draws):
            return torch.empty((0, 3, s, s), dtype=dtype)
        if images[0].shape[-2:] != (self.size, self.size):
            batch = images if isinstance(images, torch.Tensor) else torch.stack(list(images))
            images = resize_to(batch, self.size, self.size)
        if isinstance(images, torch.Tensor) and images.device.type != "cpu":
            crops = self.gather(images, draws)
            return self.normalize(crops) if normalize else crops
        # the CPU: each crop gathered as uint8, then converted (exactly) and normalised in cache
        out = torch.empty((len(draws), images[0].shape[0], s, s), dtype=dtype)
        for i, d in enumerate(draws):
            view = images[i][:, d.top : d.top + s, d.left : d.left + s]
            transpose, dims = dihedral(d)
            if transpose:
                view = view.transpose(1, 2)
            out[i] = torch.flip(view, dims) if dims else view.contiguous()
            if normalize:
                self.normalize.apply_(out[i])
        return out

    def gather(self, batch: torch.Tensor, draws: Sequence[Draw]) -> torch.Tensor:
        """All crops in one gather (a GPU's way: a handful of kernels for any batch size).

        Output pixel (i, j) of ``flip(transpose(crop))`` reads crop pixel (i', j'), each axis
        reversed where flipped, swapped where transposed; the crop is offset by (top, left).
        """
        n, channels, height, width = batch.shape
        s, device = self.image_size, batch.device
        forms = [(*dihedral(d), d.top, d.left) for d in draws]
        transpose = torch.tensor([f[0] for f in forms], device=device)[:, None, None]
        rows_flip = torch.tensor([1 in f[1] for f in forms], device=device)[:, None]
        cols_flip = torch.tensor([2 in f[1] for f in forms], device=device)[:, None]
        top = torch.tensor([f[2] for f in forms], device=device)[:, None, None]
        left = torch.tensor([f[3] for f in forms], device=device)[:, None, None]
        ar = torch.arange(s, device=device)
        i = torch.where(rows_flip, s - 1 - ar, ar)[:, :, None]  # (n, s, 1): reads along output rows
        j = torch.where(cols_flip, s - 1 - ar, ar)[:, None, :]  # (n, 1, s): reads along output columns
        r = top + torch.where(transpose, j, i)
        c = left + torch.where(transpose, i, j)
        index = (r * width + c).view(n, 1, s * s).expand(n, channels, s * s)
        return batch.reshape(n, channels, height * width).gather(2, index).view(n, channels, s, s)
