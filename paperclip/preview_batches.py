"""Whole uint8 preview batches for training and embedding, and the batched pixel ops on the device.

A ``PreviewSource`` serves a fixed list of previews (observation id, path in the image store):
each is copied from the preview shards (``paperclip.shards``) when the set holds it, else read
from its JPEG: decoded with PIL where the batch is fetched (DataLoader workers), or, for a CUDA
consumer, shipped as bytes and decoded there in one batched ``torchvision.io.decode_jpeg`` call.
A batch reaches a GPU as one pinned (n, 3, 512, 512) uint8 tensor; fetched for use in the same
process (the CPU), its rows stay views of the mapped shards. Resizing, cropping and normalisation
are batched tensor ops on whatever device holds the batch (here, and ``training.device_augment``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from paperclip.shards import RECORD_SHAPE, PreviewShards
from paperclip.storage import ImageStore

log = logging.getLogger(__name__)

JPEG_MAGIC = b"\xff\xd8\xff"


def decode_preview(source: Path | BinaryIO, shape: tuple[int, ...] = RECORD_SHAPE) -> np.ndarray:
    """A preview (file or bytes) as planar uint8 (3, H, W); one of another size is resized to it
    (bicubic), as training's transform always did. The shard builder stores exactly this."""
    with Image.open(source) as im:
        im = im.convert("RGB")
        if im.size != (shape[2], shape[1]):
            im = im.resize((shape[2], shape[1]), Image.Resampling.BICUBIC)
        return np.asarray(im).transpose(2, 0, 1)


@dataclass
class RawPreviews:
    """One batch on its way to the device: pixels already decoded, plus JPEG bytes to decode there."""

    # (n, 3, H, W) uint8, rows to decode on the device empty until then; or, fetched for use in
    # the fetching process, one tensor per row (views of the mapped shards, nothing copied)
    pixels: torch.Tensor | list[torch.Tensor]
    ids: list[int] = field(default_factory=list)  # observation id per row
    jpeg: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.uint8))  # bytes, joined
    jpeg_rows: list[int] = field(default_factory=list)
    jpeg_ends: list[int] = field(default_factory=list)  # end offset of each row's bytes in ``jpeg``
    errors: list[str] = field(default_factory=list)  # per row; "" when fine

    def pin_memory(self) -> RawPreviews:
        """The DataLoader's pinning thread calls this, so the copy to the GPU runs asynchronously."""
        return replace(self, pixels=self.pixels.pin_memory())

    def to(self, device: torch.device) -> torch.Tensor | list[torch.Tensor]:
        """The whole batch as uint8 on ``device``; undecodable rows stay zero and get an error."""
        if isinstance(self.pixels, list):
            return self.pixels
        pixels = self.pixels.to(device, non_blocking=True)
        if self.jpeg_rows:
            starts = [0, *self.jpeg_ends[:-1]]
            blobs = [self.jpeg[a:b] for a, b in zip(starts, self.jpeg_ends, strict=True)]
            for row, image in zip(self.jpeg_rows, _decode_jpegs(blobs, device), strict=True):
                if isinstance(image, str):
                    self.errors[row] = image
                    pixels[row].zero_()
                    continue
                if image.shape != pixels.shape[1:]:
                    image = resize_to(image[None], pixels.shape[-2], pixels.shape[-1])[0]
                pixels[row] = image
        return pixels


def _decode_jpegs(blobs: list[torch.Tensor], device: torch.device) -> list[torch.Tensor | str]:
    """Batched ``decode_jpeg`` on ``device``; a bad file is found by decoding the batch singly."""
    from torchvision.io import ImageReadMode, decode_jpeg

    try:
        return decode_jpeg(blobs, mode=ImageReadMode.RGB, device=device)
    except RuntimeError:
        out: list[torch.Tensor | str] = []
        for blob in blobs:
            try:
                out.append(decode_jpeg(blob, mode=ImageReadMode.RGB, device=device))
            except RuntimeError as e:
                out.append(f"cannot decode JPEG: {e}")
        return out


class PreviewSource:
    """uint8 batches of a fixed list of previews, from shards where present, else from JPEG files.

    Picklable: DataLoader workers call ``fetch`` and the consumer moves the result to ``device``;
    for a CUDA consumer JPEGs travel as bytes and are decoded there.
    """

    def __init__(
        self,
        ids: Sequence[int],
        paths: Sequence[str],
        store_root: Path,
        shards: PreviewShards | None,
        device: torch.device,
    ):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.paths = list(paths)
        self.store = ImageStore(store_root)
        self.shards = shards
        self.shape = shards.shape if shards is not None else RECORD_SHAPE
        self.positions = (
            shards.locate(self.ids, self.paths)
            if shards is not None
            else np.full(len(self.ids), -1, np.int64)
        )
        self.decode_on_device = device.type == "cuda"

    @property
    def from_shards(self) -> int:
        return int((self.positions >= 0).sum())

    def announce(self, what: str) -> None:
        """Say where the pixels come from; a fallback to JPEG is a warning with the fix."""
        total, hit = len(self.ids), self.from_shards
        if not total:
            return
        if hit == total:
            log.info("%s: all %d previews from the preview shards", what, total)
            return
        where = "on the GPU (nvJPEG)" if self.decode_on_device else "on the CPU"
        why = "there are no preview shards" if self.shards is None else f"{total - hit} are not in the shards"
        log.warning(
            "%s: %s of %d previews come from their JPEG files, decoded %s, as %s: "
            "run `paperclip shards build` to decode them once",
            what,
            f"{total - hit:,}",
            total,
            where,
            why,
        )

    def fetch(self, rows: Sequence[int], views: bool = False) -> RawPreviews:
        """Rows of this source's list as one batch; a missing or unreadable file is an error, not a crash.

        ``views``: for use in this process, shard records stay views of the mapped files (a list of
        tensors, nothing copied); else one batch tensor, in shared memory inside a worker.
        """
        rows = np.asarray(rows, dtype=np.int64)
        positions = self.positions[rows]
        ids = self.ids[rows].tolist()
        errors = [""] * len(rows)
        if views:
            images = [
                torch.from_numpy(self.shards.record(p)) if p >= 0 else self._decoded(r, i, errors)
                for i, (r, p) in enumerate(zip(rows, positions, strict=True))
            ]
            return RawPreviews(images, ids, errors=errors)
        pixels = _empty((len(rows), *self.shape))
        hit = np.flatnonzero(positions >= 0)
        if len(hit) == len(rows):
            self.shards.read(positions, out=pixels.numpy())
        else:
            for i in hit:
                pixels[i].numpy()[:] = self.shards.record(positions[i])
        jpeg: list[bytes] = []
        jpeg_rows: list[int] = []
        for i in np.flatnonzero(positions < 0):
            if self.decode_on_device:
                try:
                    data = self.store.resolve(self.paths[rows[i]]).read_bytes()
                except OSError as e:
                    data, errors[i] = b"", f"{self.paths[rows[i]]}: {type(e).__name__}: {e}"
                if data.startswith(JPEG_MAGIC):
                    jpeg.append(data)
                    jpeg_rows.append(int(i))
                    continue
            pixels[i] = self._decoded(rows[i], i, errors)
        ends = np.cumsum([len(b) for b in jpeg]).tolist()
        joined = (
            torch.frombuffer(bytearray(b"".join(jpeg)), dtype=torch.uint8)
            if jpeg
            else torch.zeros(0, dtype=torch.uint8)
        )
        return RawPreviews(pixels, ids, joined, jpeg_rows, ends, errors)

    def _decoded(self, row: int, slot: int, errors: list[str]) -> torch.Tensor:
        """One preview decoded with PIL; zeros and an error when it is missing or unreadable."""
        try:
            return torch.from_numpy(decode_preview(self.store.resolve(self.paths[row]), self.shape).copy())
        except Exception as e:  # missing, outside the store, corrupt: the caller decides
            errors[slot] = errors[slot] or f"{self.paths[row]}: {type(e).__name__}: {e}"
            return torch.zeros(self.shape, dtype=torch.uint8)


def _empty(shape: tuple[int, ...]) -> torch.Tensor:
    """A uint8 tensor; in a DataLoader worker, in shared memory, so it reaches the consumer uncopied."""
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape, dtype=torch.uint8)
    numel = int(np.prod(shape))
    storage = torch.empty(0, dtype=torch.uint8)._typed_storage()._new_shared(numel, device="cpu")
    return torch.empty(0, dtype=torch.uint8).new(storage).view(shape)


# -- batched pixel ops on any device ---------------------------------------------------------------
def resize_to(batch: torch.Tensor, height: int, width: int, mode: str = "bicubic") -> torch.Tensor:
    """uint8 (n, C, H, W) resized like PIL: antialiased, horizontal pass then vertical, rounded to
    uint8 between them (matches ``Image.resize(BICUBIC)`` within one grey level when shrinking).
    The CPU has a uint8 kernel that does exactly this; elsewhere two float passes do."""
    if batch.shape[-2:] == (height, width):
        return batch
    if batch.device.type == "cpu":
        return F.interpolate(batch, size=(height, width), mode=mode, antialias=True)
    x = batch.float()
    if x.shape[-1] != width:
        x = F.interpolate(x, size=(x.shape[-2], width), mode=mode, antialias=True).round_().clamp_(0, 255)
    if x.shape[-2] != height:
        x = F.interpolate(x, size=(height, width), mode=mode, antialias=True).round_().clamp_(0, 255)
    return x.to(torch.uint8)


def center_crop(batch: torch.Tensor, size: int) -> torch.Tensor:
    """torchvision's centre crop offsets (a view)."""
    top = int(round((batch.shape[-2] - size) / 2.0))
    left = int(round((batch.shape[-1] - size) / 2.0))
    return batch[..., top : top + size, left : left + size]


class Normalize:
    """uint8 -> float32 ``(x / 255 - mean) / std``: torchvision's ToTensor + Normalize, op for op."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean = torch.tensor(list(mean), dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(list(std), dtype=torch.float32).view(-1, 1, 1)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return self.apply_(batch.float())

    def apply_(self, batch: torch.Tensor) -> torch.Tensor:
        """In place on a float32 batch holding 0..255."""
        if self.mean.device != batch.device:
            self.mean, self.std = self.mean.to(batch.device), self.std.to(batch.device)
        return batch.div_(255).sub_(self.mean).div_(self.std)


class EvalPixels:
    """A model's eval preprocessing of 512 px square previews, as batched ops: resize the square
    to the model's resize side (bicubic), centre crop, normalise. For a square input every open_clip
    resize mode (shortest, longest, squash) and a fine-tuned checkpoint's resize+crop reduce to this."""

    def __init__(self, config: dict):
        self.size = int(config["image_size"])
        self.resize = int(config.get("resize") or self.size)
        self.mode = config.get("interpolation") or "bicubic"
        self.normalize = Normalize(config["mean"], config["std"])

    def __call__(self, images: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        batch = images if isinstance(images, torch.Tensor) else torch.stack(list(images))
        resized = resize_to(batch, self.resize, self.resize, self.mode)
        return self.normalize(center_crop(resized, self.size))
