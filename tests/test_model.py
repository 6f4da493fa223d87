"""The model core: paperclip-lite offline, its weights mapped right, checkpoints round-trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from paperclip.model import load_model, resolve_device, save_checkpoint


def test_lite_loads_without_network(no_network):
    clip = load_model("lite", device="cpu")
    emb = clip.encode_text(["strong lensing"])
    assert emb.shape == (1, 512)
    assert no_network == []


def test_lite_embeddings_are_normalised_and_deterministic(lite_model, hst_mini):
    images = [Image.open(p) for p in sorted((hst_mini / "images").glob("*.png"))[:3]]
    a = lite_model.encode_images(images)
    b = load_model("lite", device="cpu").encode_images(images)
    assert a.dtype == np.float32 and a.shape == (3, 512)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a, b, atol=1e-6)
    t = lite_model.encode_text(["globular cluster", "globular cluster"])
    np.testing.assert_allclose(t[0], t[1], atol=1e-6)


def test_minilm_text_geometry(lite_model):
    spiral, barred, comet = lite_model.encode_text(["spiral galaxy", "barred spiral galaxy", "comet tail"])
    assert spiral @ barred > 0.8
    assert spiral @ barred > spiral @ comet + 0.4


@pytest.mark.parametrize(("name", "classes"), [("chelsea", range(281, 286)), ("coffee", [504, 967, 968])])
def test_image_tower_weights_are_imagenet(name, classes):
    """With its ImageNet head the mapped tower must recognise a cat and a coffee cup."""
    from skimage import data

    from paperclip.lite import imagenet_classifier
    from paperclip.model import spec_config

    cfg = spec_config("lite")
    from open_clip import image_transform

    tf = image_transform(cfg["image_size"], is_train=False, mean=tuple(cfg["mean"]), std=tuple(cfg["std"]))
    net = imagenet_classifier()
    with torch.no_grad():
        probs = net(tf(Image.fromarray(getattr(data, name)())).unsqueeze(0)).softmax(-1)[0]
    top = int(probs.argmax())
    assert top in classes, f"{name} classified as ImageNet class {top} (p={probs[top]:.2f})"


def test_tiny_checkpoint_round_trip(tiny_model, tmp_path):
    img = Image.fromarray((np.random.default_rng(0).random((80, 120, 3)) * 255).astype("uint8"))
    before_img, before_txt = tiny_model.encode_images([img]), tiny_model.encode_text(["dwarf galaxy"])
    path = save_checkpoint(tiny_model, tmp_path / "ckpt", card="# tiny\n")
    loaded = load_model(path, device="cpu")
    np.testing.assert_array_equal(loaded.encode_images([img]), before_img)
    np.testing.assert_array_equal(loaded.encode_text(["dwarf galaxy"]), before_txt)
    assert loaded.config["arch"] == "tiny" and (path / "README.md").read_text() == "# tiny\n"


def test_checkpoint_that_does_not_fit_is_refused(tiny_model, tmp_path):
    import json

    path = save_checkpoint(tiny_model, tmp_path / "ckpt")
    cfg = json.loads((path / "paperclip_model.json").read_text())
    cfg["text_cfg"]["layers"] = 3
    (path / "paperclip_model.json").write_text(json.dumps(cfg))
    with pytest.raises(RuntimeError, match="does not fit"):
        load_model(path, device="cpu")


def test_unknown_spec_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown open_clip model"):
        load_model("NoSuchModel-9:xyz", device="cpu")


def test_device_choice():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cuda", "mps", "cpu"}
