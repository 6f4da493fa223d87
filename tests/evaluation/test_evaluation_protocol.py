"""One protocol for every model: identical pixels for base and fine-tune, the augmented draws,
an interval on every metric, and the warning for a small validation set."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from paperclip.model import ClipModel, load_model, save_checkpoint
from training.augment import PaperTransform, working_size
from training.data import Pair
from training.evaluate.models import ModelSpec
from training.evaluate.run import evaluate_pairs


@pytest.fixture(scope="module")
def exported_finetune(tmp_path_factory):
    """A tiny fine-tune saved as training exports it: its preprocessing is the native-scale centre crop."""
    clip = load_model("tiny", device="cpu")
    with torch.no_grad():
        for p in clip.model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(2)))
    extra = {"resize": working_size(clip.image_size), "base_model": "tiny"}
    return save_checkpoint(clip, tmp_path_factory.mktemp("ft") / "tuned", extra=extra)


def _pairs(records, n: int) -> list[Pair]:
    return [Pair(i + 1, r.proposal, r.image, r.caption, r.label) for i, r in enumerate(records[:n])]


@pytest.fixture
def seen(monkeypatch) -> dict[str, list[torch.Tensor]]:
    """Every pixel batch each model's image encoder receives (the encoder itself still runs)."""
    batches: dict[str, list[torch.Tensor]] = {}
    real = ClipModel.encode_image_tensor

    def spy(self, pixels):
        batches.setdefault(self.spec, []).append(pixels.clone())
        return real(self, pixels)

    monkeypatch.setattr(ClipModel, "encode_image_tensor", spy)
    return batches


def test_base_and_finetune_receive_identical_pixels(mini_records, exported_finetune, seen, home, tmp_path):
    pairs = _pairs(mini_records, 10)
    specs = [ModelSpec("base", "tiny"), ModelSpec("tuned", str(exported_finetune))]
    metrics = evaluate_pairs(specs, pairs, tmp_path / "out", seed=1, eval_augment=2, resamples=50)
    base, tuned = seen["tiny"], seen[str(exported_finetune)]
    assert len(base) == len(tuned) == 3  # the centre crop, then two augmented draws
    for a, b in zip(base, tuned, strict=True):
        assert torch.equal(a, b)
    # the centre crop at native scale, which is also what the fine-tune's own preprocessing gives ...
    images = list(dict.fromkeys(p.image_path for p in pairs))
    with Image.open(images[0]) as im:
        crop = PaperTransform(64, [0.5] * 3, [0.5] * 3).eval(im)
        torch.testing.assert_close(load_model(exported_finetune, device="cpu").preprocess(im), crop)
        whole = load_model("tiny", device="cpu").preprocess(im)  # ... not the base's whole-image resize
    assert torch.equal(base[0][0], crop) and not torch.allclose(base[0][0], whole)
    assert not torch.equal(base[1], base[0]) and not torch.equal(base[1], base[2])  # draws differ
    assert metrics["protocol"]["pixels"].startswith("centre crop")


def test_every_metric_has_an_interval_and_augmented_draws(mini_records, exported_finetune, home, tmp_path):
    pairs = _pairs(mini_records, 40)
    specs = [ModelSpec("base", "tiny"), ModelSpec("tuned", str(exported_finetune))]
    out = tmp_path / "out"
    metrics = evaluate_pairs(specs, pairs, out, seed=4, eval_augment=3, resamples=200)
    assert json.loads((out / "metrics.json").read_text()) == metrics
    for m in metrics["models"].values():
        scored = {k: v for k, v in m.items() if k not in ("spec", "dim", "image_retrieval", "descriptions")}
        scored = {k: v for k, v in scored.items() if k not in ("ci95", "eval_augment", "judge")}
        leaves = dict(_leaves(scored))
        assert leaves and set(leaves) <= set(m["ci95"])  # every figure has its interval
        for key, value in leaves.items():
            lo, hi = m["ci95"][key]
            assert lo <= hi
            if "median_rank" not in key:  # means: the point sits inside its interval
                assert lo - 1e-9 <= value <= hi + 1e-9, key
        augmented = m["eval_augment"]
        assert augmented["draws"] == 3 and set(augmented["mean"]) == set(leaves)
        assert augmented["std"]["image_to_text.auc"] > 0  # the draws see different pixels
        lo, hi = augmented["ci95"]["image_to_text.auc"]
        assert lo <= augmented["mean"]["image_to_text.auc"] <= hi
    assert metrics["warnings"] and "fewer than 200" in metrics["warnings"][0]
    html = (out / "report.html").read_text()
    assert "Warning:" in html and "Augmented evaluation" in html
    auc = metrics["models"]["tuned"]["ci95"]["image_to_text.auc"]
    assert f"[{auc[0]:.3f}, {auc[1]:.3f}]" in html
    again = evaluate_pairs(specs, pairs, tmp_path / "again", seed=4, eval_augment=3, resamples=200)
    assert again == metrics  # seeded: draws and resamples repeat


def _leaves(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        elif isinstance(value, float):
            yield f"{prefix}{key}", value


def test_the_warning_counts_images(home, tmp_path):
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(200):
        path = tmp_path / f"img{i:03d}.png"
        Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(path)
        pairs.append(Pair(i + 1, i // 10, path, f"field {i // 10}; survey", None))
    metrics = evaluate_pairs([ModelSpec("base", "tiny")], pairs, tmp_path / "out", resamples=20)
    assert metrics["n_images"] == 200 and metrics["warnings"] == []
    assert "Warning:" not in (tmp_path / "out" / "report.html").read_text()
    fewer = evaluate_pairs([ModelSpec("base", "tiny")], pairs[:199], tmp_path / "fewer", resamples=20)
    assert "199 images" in fewer["warnings"][0]
