"""The on-device transform against today's per-image PIL transform, seed for seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from paperclip.imaging import to_preview
from paperclip.preview_batches import EvalPixels, resize_to
from tests.shards.conftest import sky
from training.augment import PaperTransform, draw
from training.device_augment import DeviceAugment

MEAN, STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]  # CLIP's


def _previews(n: int) -> list[Image.Image]:
    return [to_preview(sky(i, (260 + 40 * i, 300))) for i in range(n)]


def _batch(images: list[Image.Image]) -> torch.Tensor:
    return torch.stack([torch.from_numpy(np.asarray(im).transpose(2, 0, 1).copy()) for im in images])


def _seeds_covering_every_draw(margin: int) -> list[int]:
    """Seeds whose draws include all 16 (flip, flip, quarter turns) combinations."""
    seen: dict[tuple, int] = {}
    for seed in range(10_000):
        d = draw(seed, margin)
        seen.setdefault((d.flip_lr, d.flip_tb, d.turns), seed)
        if len(seen) == 16:
            return sorted(seen.values())
    raise AssertionError("16 combinations not reached")


def test_crops_flips_rotations_are_bit_identical_and_normalised_values_within_1e_6():
    seeds = _seeds_covering_every_draw(512 - 224)
    images = _previews(4)
    pil = PaperTransform(224, MEAN, STD)
    dev = DeviceAugment(224, MEAN, STD)
    batch = _batch([images[i % 4] for i in range(len(seeds))])
    crops = dev.crops(batch, seeds)
    normalised = dev.train(batch, seeds)
    for k, seed in enumerate(seeds):
        ref = pil.train(images[k % 4], seed)
        ref_u8 = (ref * torch.tensor(STD).view(3, 1, 1) + torch.tensor(MEAN).view(3, 1, 1)) * 255
        assert torch.equal(crops[k], ref_u8.round().to(torch.uint8)), f"seed {seed}: {draw(seed, 288)}"
        assert (normalised[k] - ref).abs().max() <= 1e-6
    # the same draws from views (the CPU path over mapped shards) as from one batch tensor, and
    # from the one-gather path a GPU batch takes
    assert torch.equal(dev.train(list(batch.unbind(0)), seeds), normalised)
    assert torch.equal(dev.gather(batch, [draw(s, 512 - 224) for s in seeds]), crops)
    # centre crop, as the exported checkpoint's preprocessing
    assert (dev.eval(batch[:4]) - torch.stack([pil.eval(im) for im in images])).abs().max() <= 1e-6


def test_a_crop_is_a_native_scale_window_of_the_preview():
    """Coded pixels: every output pixel is a distinct preview pixel from one 224 x 224 window."""
    yy, xx = np.mgrid[:512, :512]
    coded = np.stack([xx % 256, yy % 256, (xx // 256) * 128 + (yy // 256) * 64], 0).astype(np.uint8)
    dev = DeviceAugment(224, [0.0] * 3, [1 / 255] * 3)
    crops = dev.crops(torch.from_numpy(coded)[None].repeat(8, 1, 1, 1), list(range(8))).long()
    for crop in crops:
        x = crop[0] + 256 * (crop[2] // 128)
        y = crop[1] + 256 * ((crop[2] % 128) // 64)
        assert x.max() - x.min() == 223 and y.max() - y.min() == 223
        assert len(set(zip(x.flatten().tolist(), y.flatten().tolist(), strict=True))) == 224 * 224


@pytest.mark.parametrize("image_size", [64, 256])
def test_models_of_other_sizes_get_the_resize_within_one_grey_level(image_size):
    images = _previews(3)
    pil = PaperTransform(image_size, MEAN, STD)
    dev = DeviceAugment(image_size, MEAN, STD)
    seeds = [3, 17, 29]
    got = dev.train(_batch(images), seeds)
    ref = torch.stack([pil.train(im, s) for im, s in zip(images, seeds, strict=True)])
    grey = 1 / 255 / min(STD)
    assert got.shape == ref.shape and (got - ref).abs().max() <= grey + 1e-6
    assert (got - ref).abs().mean() < 0.01 * grey  # almost every value is exact


def test_resize_matches_pil_bicubic_and_eval_pixels_match_the_model_preprocessing(tiny_model):
    images = _previews(3)
    batch = _batch(images)
    for size in (146, 224):
        ref = _batch([im.resize((size, size), Image.Resampling.BICUBIC) for im in images])
        assert (resize_to(batch, size, size).int() - ref.int()).abs().max() <= 1
    got = EvalPixels(tiny_model.config)(batch)
    ref = torch.stack([tiny_model.preprocess(im) for im in images])
    assert got.shape == ref.shape and (got - ref).abs().max() <= 1 / 255 / 0.5 + 1e-6


def test_without_flips_a_crop_is_only_turned():
    batch = _batch(_previews(2))
    seeds = _seeds_covering_every_draw(512 - 224)[:8]
    plain = DeviceAugment(224, MEAN, STD, flips=False).crops(batch[[k % 2 for k in range(8)]], seeds)
    for k, seed in enumerate(seeds):
        d = draw(seed, 512 - 224)
        window = batch[k % 2][:, d.top : d.top + 224, d.left : d.left + 224]
        assert torch.equal(plain[k], torch.rot90(window, d.turns, (1, 2)))
