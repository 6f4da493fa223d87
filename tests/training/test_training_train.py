"""The loop end to end on the tiny model: learning, export, resume, modes (the paper's MLP head
included), WiSE-FT, precision and DDP gradients."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sqlalchemy import select

from paperclip.db import session_scope
from paperclip.model import load_model
from paperclip.schema import Checkpoint
from training.augment import PaperTransform
from training.config import TrainConfig
from training.data import load_pairs
from training.export import wise_ft
from training.train import train


def _log(home: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (home / "checkpoints" / "runs" / name / "log.jsonl").open()]


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _changed(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> set[str]:
    return {k for k in a if not torch.equal(a[k], b[k])}


def test_training_learns_and_exports_a_loadable_checkpoint(archive):
    config = TrainConfig.from_recipe("tiny", name="learn", steps=30, val_fraction=0.25, log_every=1)
    path = train(config)
    log = _log(archive, "learn")
    losses = [r["loss"] for r in log if "loss" in r]
    vals = [r for r in log if "val_loss" in r]
    assert vals[0]["step"] == 0  # the untrained model's figures come first (the paper's Fig. 2)
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])
    assert vals[-1]["val_i2t_r1"] > vals[0]["val_i2t_r1"]
    assert vals[-1]["val_t2i_top10pct"] > vals[0]["val_t2i_top10pct"]
    assert 0 <= vals[-1]["val_fig2_t2i_top10_of_100"] <= 1
    assert all(r["pairs_per_s"] > 0 for r in log if "loss" in r)
    assert (archive / "checkpoints" / "runs" / "learn" / "tb").is_dir()

    with session_scope() as s:
        row = s.scalars(select(Checkpoint).where(Checkpoint.name == "learn")).one()
        val = load_pairs(s, "val", "summary")
    assert Path(row.path) == path.resolve() and row.recipe == "tiny" and "val_loss" in row.metrics
    assert path == archive / "checkpoints" / "learn" / "v1" and row.version == 1
    card = (path / "README.md").read_text()
    assert "## Metrics" in card and row.weights_sha256 in card

    # Round trip: the folder reproduces the exported state's embeddings, preprocessing included.
    loaded = load_model(path, device="cpu")
    rebuilt = load_model("tiny", device="cpu")
    state = dict(rebuilt.model.named_parameters())
    exported = json.loads((path / "paperclip_model.json").read_text())
    chosen = min(  # the exported state is the best by validation loss
        (archive / "checkpoints" / "runs" / "learn").glob("state-*.pt"),
        key=lambda p: torch.load(p, weights_only=False)["metrics"]["val_loss"],
    )
    best = torch.load(chosen, weights_only=False)
    with torch.no_grad():
        for key, value in best["trainable"].items():
            state[key].copy_(value)
    image = Image.open(val[0].image_path)
    tf = PaperTransform(64, exported["mean"], exported["std"])
    torch.testing.assert_close(loaded.preprocess(image), tf.eval(image))
    pixels = tf.eval(image)[None]
    np.testing.assert_array_equal(
        loaded.encode_image_tensor(pixels).numpy(), rebuilt.encode_image_tensor(pixels).numpy()
    )
    np.testing.assert_array_equal(loaded.encode_text([val[0].caption]), rebuilt.encode_text([val[0].caption]))


def test_resume_equals_uninterrupted_run(archive):
    common = {
        "steps": 8,
        "log_every": 1,
        "val_every": 4,
        "val_fraction": 0.25,
        "variant": "raw",
        "grad_accum": 2,
    }
    train(TrainConfig.from_recipe("tiny", name="whole", **common))
    train(TrainConfig.from_recipe("tiny", name="parts", **{**common, "steps": 4}))
    train(TrainConfig.from_recipe("tiny", name="parts", resume=True, **common))
    whole = [r["loss"] for r in _log(archive, "whole") if "loss" in r]
    parts = [r["loss"] for r in _log(archive, "parts") if "loss" in r]
    assert len(whole) == len(parts) == 8
    np.testing.assert_allclose(parts, whole, rtol=1e-5)
    assert len(set(whole)) == 8


def test_frozen_mode_moves_only_projections_and_wise_ft_interpolates(archive):
    path = train(TrainConfig.from_recipe("tiny", name="frozen", mode="frozen", steps=10, val_fraction=0.25))
    base, tuned = _state(load_model("tiny", device="cpu").model), _state(load_model(path, device="cpu").model)
    changed = _changed(base, tuned)
    assert {"visual.proj", "text_projection"} <= changed <= {"visual.proj", "text_projection", "logit_scale"}
    features = list((archive / "cache" / "features").glob("*/*.npy"))
    assert features  # tower features are cached once per view

    half = _state(load_model(wise_ft("tiny", "frozen", 0.5, "frozen-wise"), device="cpu").model)
    torch.testing.assert_close(half["visual.proj"], (base["visual.proj"] + tuned["visual.proj"]) / 2)
    zero = _state(load_model(wise_ft("tiny", "frozen", 0.0, "frozen-wise0"), device="cpu").model)
    assert not _changed(base, zero)
    with session_scope() as s:
        assert s.scalar(select(Checkpoint.recipe).where(Checkpoint.name == "frozen-wise")) == "wise-ft"


def test_lora_trains_only_adapters_with_siglip(archive):
    config = TrainConfig.from_recipe(
        "tiny", name="lora", mode="lora", loss="siglip", steps=6, val_every=6, val_fraction=0.25
    )
    path = train(config)
    state = torch.load(
        sorted((archive / "checkpoints" / "runs" / "lora").glob("state-*.pt"))[-1], weights_only=False
    )
    trained = set(state["trainable"])
    assert trained and all("lora_" in k or k == "logit_scale" for k in trained)
    base, merged = (
        _state(load_model("tiny", device="cpu").model),
        _state(load_model(path, device="cpu").model),
    )
    changed = _changed(base, merged) - {"logit_scale"}
    assert changed and all(".attn." in k or ".mlp." in k for k in changed)


def test_head_mode_trains_the_papers_mlp_on_frozen_towers(archive):
    path = train(TrainConfig.from_recipe("tiny", name="head", mode="head", steps=10, val_fraction=0.25))
    base, tuned = load_model("tiny", device="cpu"), load_model(path, device="cpu")
    assert tuned.config["head"] == {"hidden": 1024}
    head = tuned.model.image_head
    assert [type(m).__name__ for m in head] == ["Linear", "GELU", "Linear", "Linear"]
    assert head[0].out_features == 1024 and head[2].out_features == 64  # back to the tower's width
    assert head[3].bias is None and head[3].out_features == tuned.dim  # the new projection
    # the towers are the base's, untouched; only the heads and the temperature moved
    towers = {
        k: v for k, v in tuned.model.base.state_dict().items() if "proj" not in k and k != "logit_scale"
    }
    base_state = base.model.state_dict()
    assert towers and all(torch.equal(v, base_state[k]) for k, v in towers.items())
    image = Image.open(sorted((archive / "images").rglob("*.jpg"))[0])
    emb = tuned.encode_images([image])
    assert emb.shape == (1, tuned.dim) and not np.allclose(emb, base.encode_images([image]))


def test_bf16_precision_is_a_recipe_field(archive):
    config = TrainConfig.from_recipe("tiny", name="bf16", steps=4, val_every=4, precision="bf16")
    path = train(config)
    assert json.loads((path / "train_config.json").read_text())["precision"] == "bf16"
    assert (
        TrainConfig.from_recipe("paper").precision
        == TrainConfig.from_recipe("paper-code").precision
        == "fp32"
    )


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # 40 s of process start-up: one dialect
def test_ddp_gradients_equal_single_process_gradients(archive, env):
    """One plain SGD step (lr 1, no decay, no warm-up) on the same global batch of 8, over two
    gloo ranks under torchrun and in one process: each weight moves by minus its gradient, so the
    exported weights compare the gradients parameter by parameter. A gradient off by the world
    size (a loss not gathered, DDP's average applied twice) differs by 50% or 100%."""
    sgd = ["--set", "optimizer=sgd", "--set", "weight_decay=0", "--set", "warmup=0", "--set", "val_every=1"]
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "paperclip_cli", "train"]
    cmd += ["--recipe", "tiny", "--name", "ddp", "--steps", "1", "--batch-size", "8", "--lr", "1", *sgd]
    done = subprocess.run(
        cmd, env={**env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "checkpoint ddp v1:" in done.stdout
    one = TrainConfig.from_recipe(
        "tiny", name="single", steps=1, batch_size=8, lr=1.0, optimizer="sgd", weight_decay=0.0, warmup=0
    )
    train(one.model_copy(update={"val_every": 1}))
    start = _state(load_model("tiny", device="cpu").model)
    with session_scope() as s:
        paths = {r.name: r.path for r in s.scalars(select(Checkpoint))}
    ddp = _state(load_model(paths["ddp"], device="cpu").model)
    single = _state(load_model(paths["single"], device="cpu").model)
    moved = 0
    for key, before in start.items():
        g_ddp, g_one = before - ddp[key], before - single[key]
        scale = float(g_one.abs().max())
        if scale == 0:
            continue
        moved += 1
        torch.testing.assert_close(g_ddp, g_one, rtol=0, atol=1e-4 * scale, msg=f"gradient of {key}")
    assert moved > 20  # every tower moved: the comparison covers the whole model


def test_no_data_is_a_clear_error(env):
    with pytest.raises(RuntimeError, match="paperclip caption"):
        train(TrainConfig.from_recipe("tiny", name="empty", steps=2))


def test_image_projection_mode_keeps_the_text_side_and_varied_captions_train(archive):
    """Only the image projection (and temperature) moves; the varied variant draws its texts per step."""
    config = TrainConfig.from_recipe(
        "tiny", name="imgproj", mode="image-projection", variant="varied", steps=10, val_fraction=0.25
    )
    path = train(config)
    base, tuned = _state(load_model("tiny", device="cpu").model), _state(load_model(path, device="cpu").model)
    assert {"visual.proj"} <= _changed(base, tuned) <= {"visual.proj", "logit_scale"}
    assert any(r.get("loss") for r in _log(archive, "imgproj"))
    pixels = train(
        TrainConfig.from_recipe("tiny", name="varied-full", variant="varied", steps=3, val_every=3)
    )
    assert load_model(pixels, device="cpu").model is not None  # the pixel path draws alternatives too


def test_resume_after_a_recipe_change_starts_over(archive):
    """A rerun whose config differs (a changed recipe) cannot resume the old states: it starts over."""
    train(TrainConfig.from_recipe("tiny", name="changed", steps=4, val_every=2, val_fraction=0.25))
    again = TrainConfig.from_recipe(
        "tiny", name="changed", mode="frozen", steps=4, val_every=2, val_fraction=0.25, resume=True
    )
    path = train(again)  # resuming the full-mode states into frozen mode would fail on the optimizer
    assert json.loads((path / "train_config.json").read_text())["mode"] == "frozen"
    assert [r["step"] for r in _log(archive, "changed")][0] == 0  # the old log went with the old run
