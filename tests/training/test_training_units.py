"""Sampler, losses, augmentation and config: the pieces the loop is built from."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from training.augment import PaperTransform, working_size
from training.config import TrainConfig
from training.loss import ContrastiveLoss
from training.sampler import ProposalBatchSampler


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 20), min_size=2, max_size=40),
    batch=st.integers(2, 16),
    seed=st.integers(0, 2**16),
)
def test_sampler_never_repeats_a_proposal_in_a_batch(sizes, batch, seed):
    groups = [g for g, n in enumerate(sizes) for _ in range(n)]
    sampler = ProposalBatchSampler(groups, batch, seed)
    for epoch in range(2):
        batches = sampler.epoch(epoch)
        used = Counter(i for b in batches for i in b)
        assert all(n == 1 for n in used.values())  # each pair at most once per epoch
        for b in batches:
            assert len(b) == sampler.batch_size == min(batch, len(sizes))
            assert len({groups[i] for i in b}) == len(b)
        # an epoch ends only when fewer proposals than a batch have images left
        left = Counter(groups[i] for i in range(len(groups)) if i not in used)
        assert len(left) < sampler.batch_size
    assert sampler.epoch(0) == ProposalBatchSampler(groups, batch, seed).epoch(0)


def test_sampler_uses_most_pairs_and_resumes_mid_stream():
    groups = [g for g in range(30) for _ in range(1 + g % 20)]  # 1..20 images per proposal
    sampler = ProposalBatchSampler(groups, 16, seed=1)
    used = sum(len(b) for b in sampler.epoch(0))
    assert used / len(groups) > 0.8
    stream = sampler.batches()
    first = [next(stream) for _ in range(30)]
    resumed = sampler.batches(start_step=20)
    assert [next(resumed) for _ in range(10)] == first[20:]
    plain = ProposalBatchSampler(groups, 16, seed=1, proposal_aware=False).epoch(0)
    assert any(len({groups[i] for i in b}) < len(b) for b in plain)  # why the sampler exists


def _features(n=8, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)


def test_clip_loss_matches_open_clip():
    from open_clip.loss import ClipLoss

    image, text = _features()
    scale = torch.tensor(math.log(1 / 0.07))
    ours = ContrastiveLoss("clip")(image, text, scale)
    norm = torch.nn.functional.normalize
    ref = ClipLoss()(norm(image, dim=-1), norm(text, dim=-1), scale.exp())
    torch.testing.assert_close(ours, ref)
    paper = ContrastiveLoss("clip", paper_scale=True)(image, text, scale)
    torch.testing.assert_close(paper, ClipLoss()(norm(image, dim=-1), norm(text, dim=-1), scale))
    assert not torch.isclose(paper, ours)


def test_siglip_loss_matches_open_clip():
    from open_clip.loss import SigLipLoss

    image, text = _features(seed=1)
    loss = ContrastiveLoss("siglip")
    scale = torch.tensor(math.log(10.0))
    norm = torch.nn.functional.normalize
    ref = SigLipLoss()(norm(image, dim=-1), norm(text, dim=-1), scale.exp(), loss.logit_bias)
    torch.testing.assert_close(loss(image, text, scale), ref)


def test_loss_falls_when_pairs_align():
    image, text = _features()
    loss = ContrastiveLoss("clip")
    scale = torch.tensor(math.log(1 / 0.07))
    assert loss(image, image + 0.01 * text, scale) < loss(image, text, scale) / 10


def _sky(seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (512, 512, 3), dtype=np.uint8))


@pytest.mark.parametrize("image_size", [224, 64])
def test_augmentation_is_a_seeded_native_scale_crop(image_size):
    tf = PaperTransform(image_size, [0.5] * 3, [0.5] * 3)
    img = _sky()
    a, b, c = tf.train(img, 7), tf.train(img, 7), tf.train(img, 8)
    assert a.shape == (3, image_size, image_size)
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)
    assert working_size(image_size) == round(image_size * 512 / 224)
    if image_size == 224:  # no rescaling: the crop is a 224 px window of the preview, up to a dihedral map
        yy, xx = np.mgrid[:512, :512]
        coded = np.stack([xx % 256, yy % 256, (xx // 256) * 128 + (yy // 256) * 64], -1).astype(np.uint8)
        for seed in range(8):
            pix = ((tf.train(Image.fromarray(coded), seed) * 0.5 + 0.5) * 255).round().long().numpy()
            x = pix[0] + 256 * (pix[2] // 128)
            y = pix[1] + 256 * ((pix[2] % 128) // 64)
            assert x.max() - x.min() == 223 and y.max() - y.min() == 223
            assert len(set(zip(x.ravel().tolist(), y.ravel().tolist(), strict=True))) == 224 * 224


def test_recipes_and_files(tmp_path):
    paper = TrainConfig.from_recipe("paper")
    assert (paper.lr, paper.weight_decay, paper.warmup, paper.steps, paper.batch_size) == (
        1e-5,
        1e-3,
        2000,
        20000,
        32,
    )
    assert paper.model == "ViT-B-16:openai" and paper.schedule == "constant"
    assert TrainConfig.from_recipe("cosine").schedule == "cosine"
    code = TrainConfig.from_recipe("paper-code")
    # the released code: optax.adamw defaults, decay everywhere, warm-up from 0, raw logit scale
    assert (code.betas, code.eps, code.decay_all, code.warmup_from_zero) == ((0.9, 0.999), 1e-8, True, True)
    assert code.paper_scale and not paper.paper_scale
    assert code.flips and not paper.flips and code.eval_augment and code.val_every == 200
    assert paper.precision == code.precision == "fp32" and not paper.proposal_sampler
    lite = TrainConfig.from_recipe("lite", steps=5)
    assert (
        lite.mode == "image-projection"
        and lite.variant == "varied"
        and lite.model == "lite"
        and lite.steps == 5
    )
    (tmp_path / "run.yaml").write_text("recipe: tiny\nsteps: 7\nloss: siglip\n")
    (tmp_path / "run.toml").write_text('recipe = "paper"\nschedule = "cosine"\n')
    assert TrainConfig.from_file(tmp_path / "run.yaml", name="x").steps == 7
    assert TrainConfig.from_file(tmp_path / "run.toml").schedule == "cosine"
    with pytest.raises(ValueError, match="unknown recipe"):
        TrainConfig.from_recipe("nope")
    with pytest.raises(ValueError, match="stepz"):
        TrainConfig.from_recipe("tiny", stepz=3)


@pytest.mark.parametrize("mode", ["full", "frozen", "image-projection", "lock-image", "lock-text"])
def test_modes_choose_what_trains(mode):
    from paperclip.model import load_model
    from training.modes import apply_mode

    model = load_model("tiny", device="cpu").model
    params, peft_model = apply_mode(model, mode)
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert peft_model is None and len(params) == len(names)
    heads = {"visual.proj", "text_projection", "logit_scale"}
    if mode == "image-projection":  # the text side keeps its pretrained projection
        assert names == heads - {"text_projection"}
        return
    assert heads <= names
    visual = {n for n in names if n.startswith("visual.")} - heads
    text = {n for n in names if not n.startswith("visual.")} - heads
    assert bool(visual) == (mode in ("full", "lock-text"))
    assert bool(text) == (mode in ("full", "lock-image"))


def _schedule(config: TrainConfig, steps: int) -> list[float]:
    from training.train import make_optimizer, make_scheduler

    optimizer = make_optimizer([torch.nn.Parameter(torch.zeros(2, 2))], [], config)
    scheduler = make_scheduler(optimizer, config)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_warmup_from_zero_matches_optax_linear_schedule():
    """optax.linear_schedule(0, lr, W) gives step s the rate lr * s / W: the first update is a no-op."""
    code = TrainConfig.from_recipe("paper-code", warmup=4, lr=1.0)
    assert _schedule(code, 6) == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    other = TrainConfig.from_recipe("tiny", warmup=4, lr=1.0)
    assert _schedule(other, 5) == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0])


def test_weight_decay_groups_and_sgd():
    from training.train import make_optimizer

    matrix, bias, scale = (torch.nn.Parameter(torch.ones(s)) for s in ((3, 3), (3,), ()))
    decay_all = make_optimizer([matrix, bias, scale], [], TrainConfig.from_recipe("paper-code"))
    assert isinstance(decay_all, torch.optim.AdamW)
    assert [len(g["params"]) for g in decay_all.param_groups] == [3]
    assert decay_all.param_groups[0]["betas"] == (0.9, 0.999) and decay_all.param_groups[0]["eps"] == 1e-8
    split = make_optimizer([matrix, bias, scale], [], TrainConfig.from_recipe("lite"))
    assert [(len(g["params"]), g["weight_decay"]) for g in split.param_groups] == [(1, 0.1), (2, 0.0)]
    sgd = make_optimizer([matrix], [], TrainConfig.from_recipe("tiny", optimizer="sgd", lr=0.5))
    matrix.grad = torch.full((3, 3), 2.0)
    sgd.step()
    torch.testing.assert_close(matrix.detach(), torch.zeros(3, 3))  # 1 - 0.5 * 2


def test_flips_off_keeps_the_same_crops_and_turns():
    img = _sky()
    with_flips, without = (
        PaperTransform(64, [0.5] * 3, [0.5] * 3),
        PaperTransform(64, [0.5] * 3, [0.5] * 3, flips=False),
    )
    outcomes = set()
    for seed in range(16):
        a, b = with_flips.train(img, seed), without.train(img, seed)
        same = torch.equal(a, b)
        flipped = any(
            torch.equal(a, f(b))
            for f in (lambda t: t.flip(-1), lambda t: t.flip(-2), lambda t: t.flip(-1, -2))
        )
        assert same or flipped  # the same crop and rotation, flipped or not
        outcomes.add(same)
    assert outcomes == {True, False}


def test_feature_cache_key_follows_the_image_tower_not_the_projections():
    """Cached features never pass through a projection: a projection-only change keeps them; any
    change to the image tower's own weights makes new ones."""
    import torch

    from paperclip.model import load_model, projection_slots
    from training.augment import PaperTransform
    from training.features import model_key

    clip = load_model("tiny", device="cpu")  # its own copy: the weights are changed below
    transform = PaperTransform(224, [0.5] * 3, [0.5] * 3)
    key = model_key(clip, transform)
    with torch.no_grad():
        for owner, attr in projection_slots(clip.model):
            proj = getattr(owner, attr)
            (proj.weight if isinstance(proj, torch.nn.Module) else proj).mul_(1.5)
        clip.model.logit_scale.add_(1.0)
        assert model_key(clip, transform) == key
        next(p for n, p in clip.model.visual.named_parameters() if not n.endswith("proj")).add_(1e-3)
        assert model_key(clip, transform) != key
