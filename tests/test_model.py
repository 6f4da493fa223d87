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


@pytest.fixture(scope="module")
def openai_weights(tmp_path_factory):
    """ViT-B-16 weights in the OpenAI format (their key names, float16 as OpenAI ships them), random."""
    import open_clip

    torch.manual_seed(3)
    model = open_clip.create_model("ViT-B-16-quickgelu")
    with torch.no_grad():
        model.logit_scale.fill_(np.log(100))
    path = tmp_path_factory.mktemp("openai") / "ViT-B-16.pt"
    torch.save({k: v.half() for k, v in model.state_dict().items()}, path)
    return path


def _vit_inputs():
    rng = np.random.default_rng(0)
    pixels = torch.from_numpy(rng.normal(size=(2, 3, 224, 224)).astype(np.float32))
    return pixels, ["strong lensing", "a spiral galaxy with dust lanes"]


def test_openai_vit_b16_runs_quickgelu_and_round_trips(openai_weights, tmp_path):
    """The OpenAI weights need QuickGELU: our model must equal open_clip's reference builder for the
    OpenAI format, differ from the same weights under GELU, and a checkpoint must reproduce it."""
    import open_clip
    from open_clip.model import build_model_from_openai_state_dict

    spec = f"ViT-B-16:openai@{openai_weights}"
    clip = load_model(spec, device="cpu", precision="fp32")
    assert clip.config["quick_gelu"] and clip.config["activation"] == "quick_gelu"
    assert clip.config["base_weights"] == {"spec": "ViT-B-16:openai", "source": f"file:{openai_weights}"}
    pixels, texts = _vit_inputs()
    tokens = clip.tokenizer(texts)

    state = torch.load(openai_weights, weights_only=True)
    reference = build_model_from_openai_state_dict(dict(state), cast_dtype=None).float().eval()
    with torch.no_grad():
        ref_image, ref_text = reference.encode_image(pixels), reference.encode_text(tokens)
        gelu = open_clip.create_model("ViT-B-16", pretrained=str(openai_weights)).eval()  # what main built
        gelu_image = gelu.encode_image(pixels)
    ours_image = clip.encode_image_tensor(pixels)
    ours_text = clip.encode_text_tensor(tokens)
    torch.testing.assert_close(
        ours_image, torch.nn.functional.normalize(ref_image, dim=-1), rtol=0, atol=1e-5
    )
    torch.testing.assert_close(ours_text, torch.nn.functional.normalize(ref_text, dim=-1), rtol=0, atol=1e-5)
    assert (ours_image - torch.nn.functional.normalize(gelu_image, dim=-1)).abs().max() > 1e-3

    folder = save_checkpoint(clip, tmp_path / "ckpt")
    loaded = load_model(folder, device="cpu", precision="fp32")
    assert loaded.weights_sha256 == clip.weights_sha256
    assert loaded.config["activation"] == "quick_gelu"
    torch.testing.assert_close(loaded.encode_image_tensor(pixels), ours_image, rtol=0, atol=0)
    torch.testing.assert_close(loaded.encode_text_tensor(tokens), ours_text, rtol=0, atol=0)

    # a checkpoint recording another activation than its base weights need is refused, clearly
    import json

    from paperclip.model import CheckpointMismatch

    config = json.loads((folder / "paperclip_model.json").read_text())
    for edit, message in (
        ({"quick_gelu": False, "activation": "gelu"}, "trained with QuickGELU"),
        ({"quick_gelu": None, "activation": None}, "written before activations were recorded"),
        ({"activation": "gelu"}, "records activation gelu"),
    ):
        changed = {k: v for k, v in {**config, **edit}.items() if v is not None}
        (folder / "paperclip_model.json").write_text(json.dumps(changed))
        with pytest.raises(CheckpointMismatch, match=message):
            load_model(folder, device="cpu")


def test_tag_config_is_honoured_without_weights():
    from paperclip.model import spec_config

    cfg = spec_config("ViT-B-16:openai")
    assert (
        cfg["quick_gelu"] is True and cfg["resize_mode"] == "shortest" and cfg["interpolation"] == "bicubic"
    )
    assert cfg["base_weights"]["source"].startswith(("hf-hub:", "https://"))
    assert spec_config("ViT-B-16")["quick_gelu"] is False  # random init: the model config's GELU
    assert spec_config("ViT-B-16-quickgelu")["quick_gelu"] is True
    with pytest.raises(ValueError, match="unknown pretrained tag 'nope'"):
        spec_config("ViT-B-16:nope")
    with pytest.raises(ValueError, match="does not exist"):
        spec_config("ViT-B-16:openai@/no/such/file.pt")


def test_checkpoint_records_its_weights_hash_and_refuses_changed_weights(tiny_model, tmp_path):
    import json

    from safetensors.torch import save_model

    from paperclip.model import CheckpointMismatch, state_sha256

    path = save_checkpoint(tiny_model, tmp_path / "ckpt")
    recorded = json.loads((path / "paperclip_model.json").read_text())["weights_sha256"]
    assert recorded == state_sha256(tiny_model.model) == load_model(path, device="cpu").weights_sha256
    changed = load_model("tiny", device="cpu")
    with torch.no_grad():
        changed.model.logit_scale.add_(1e-3)
    assert state_sha256(changed.model) != recorded
    save_model(changed.model, str(path / "model.safetensors"))  # weights replaced in place, config kept
    with pytest.raises(CheckpointMismatch, match="changed after it was written"):
        load_model(path, device="cpu")


def test_precision_bf16_autocasts_and_fp32_is_exact(tiny_model):
    pixels = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    fp32 = load_model("tiny", device="cpu", precision="fp32")
    bf16 = load_model("tiny", device="cpu", precision="bf16")
    a, b = fp32.encode_image_tensor(pixels), bf16.encode_image_tensor(pixels)
    assert a.dtype == b.dtype == torch.float32
    assert 0 < (a - b).abs().max() < 0.05  # bf16 arithmetic: close, not equal
    torch.testing.assert_close(a, tiny_model.encode_image_tensor(pixels), rtol=0, atol=0)  # auto on CPU: fp32
