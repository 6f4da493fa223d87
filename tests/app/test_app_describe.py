"""Description retrieval over loopback: hub-normalised scores, weak answers for meaningless images,
and text queries embedded as configured (``paperclip.query_embedding``)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from paperclip.query_embedding import PROMPTS, QueryOptions, embed_queries


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def meaningless() -> dict[str, bytes]:
    rng = np.random.default_rng(7)  # not the calibration's own noise probes
    return {
        "constant.png": png(Image.new("RGB", (300, 200), (128, 128, 128))),
        "noise.png": png(Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8))),
        "grey-noise.png": png(Image.fromarray(rng.integers(0, 256, (700, 500), dtype=np.uint8))),
    }


def test_constant_and_noise_images_come_back_weak(service):
    c = service.client
    for name, data in meaningless().items():
        body = c.post(service.api("/describe"), files={"file": (name, data)}, params={"k": 5}).json()
        assert body["weak_match"] is True, name
        search = c.post(service.api("/search/image"), files={"file": (name, data)}).json()
        assert search["weak_match"] is True, name
        assert len(body["descriptions"]) == 5  # still listed, flagged as background
        page = c.post(service.url + "/upload", files={"file": (name, data)})
        assert page.status_code == 200
        assert 'id="weak-notice"' in page.text and 'id="weak-descriptions"' in page.text, name
    original = (service.archive.images / service.archive.observations[0]["original_path"]).read_bytes()
    real = c.post(service.api("/describe"), files={"file": ("real.png", original)}).json()
    assert real["weak_match"] is False
    page = c.post(service.url + "/upload", files={"file": ("real.png", original)})
    assert 'id="weak-descriptions"' not in page.text


def test_noise_has_no_spatial_structure(hst_mini):
    from app.calibration import is_noise, null_images

    rng = np.random.default_rng(3)
    for pixels in [*null_images(), rng.integers(0, 256, (480, 640), dtype=np.uint8)]:
        assert is_noise(pixels)
    blocky = np.kron(rng.integers(0, 256, (40, 40), dtype=np.uint8), np.ones((16, 16), np.uint8))
    assert is_noise(blocky)
    for path in sorted((hst_mini / "images").glob("*.png")):  # real previews: structure at every scale
        assert not is_noise(np.asarray(Image.open(path).convert("L"))), path.name
    assert not is_noise(np.full((64, 64), 37, np.uint8))  # constant: blank, not noise


def test_bare_cosine_when_hub_normalisation_is_off(make_service):
    service = make_service(describe_hub_norm=False)
    body = service.client.get(service.api(f"/observations/{service.ids[2]}/describe")).json()
    scores = [d["score"] for d in body["descriptions"]]
    assert scores == [d["cosine"] for d in body["descriptions"]] and scores == sorted(scores, reverse=True)


def test_text_queries_embedded_as_configured(make_service, tiny_model):
    options = {"query_prompts": True, "query_expand_terms": 3, "query_expand_weight": 0.3}
    service = make_service(**options)
    loaded = service.runtime.current()
    q = "a faint ring around a galaxy"
    vec = embed_queries(tiny_model.encode_text, [q], loaded.vocab_vectors, QueryOptions(PROMPTS, 3, 0.3))[0]
    body = service.client.get(service.api("/search"), params={"q": q, "mode": "vector", "k": 3}).json()
    expected = np.asarray(loaded.vectors, np.float32) @ vec
    top = [h["observation"]["id"] for h in body["results"]]
    assert top == [int(loaded.files.ids[i]) for i in np.argsort(-expected, kind="stable")[:3]]
    assert body["results"][0]["score"] == pytest.approx(float(expected.max()), abs=1e-3)


def test_hubness_stored_with_the_version_and_computed_for_older_ones(service, tiny_model, tmp_path):
    import json
    import shutil

    from app.loading import load_version
    from paperclip.description_bank import term_hubness
    from paperclip.index_files import HUB_FILE, MANIFEST

    loaded = service.runtime.current()
    stored = np.load(loaded.files.path / HUB_FILE)
    assert np.allclose(loaded.vocab_hub, stored)
    assert np.allclose(stored, term_hubness(loaded.vectors, loaded.vocab_vectors), atol=1e-6)
    older = tmp_path / "older"  # a version written before hubness was: no file, no manifest entry
    shutil.copytree(loaded.files.path, older)
    (older / HUB_FILE).unlink()
    manifest = json.loads((older / MANIFEST).read_text())
    del manifest["files"][HUB_FILE]
    (older / MANIFEST).write_text(json.dumps(manifest))
    again = load_version(loaded.version_id, lambda _files: tiny_model, older, service.db_url)
    assert again.files.vocab_hub is None and np.allclose(again.vocab_hub, stored, atol=1e-6)
