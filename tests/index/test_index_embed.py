"""The embedding pipeline computes what the model's own preprocessing computes."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from indexer.index.embed import Pixels, encode_batches, loader
from paperclip.imaging import encode_jpeg, to_preview


def test_split_preprocessing_is_exactly_the_models(tiny_model, hst_mini, tmp_path):
    pixels = Pixels(tiny_model.config)
    assert pixels.split
    items = []
    for n, src in enumerate(sorted((hst_mini / "images").glob("*.png"))[:6]):
        rel = f"preview/{n}.jpg"
        (tmp_path / "preview").mkdir(exist_ok=True)
        (tmp_path / rel).write_bytes(encode_jpeg(to_preview(Image.open(src))))
        items.append((100 + n, rel))
    items.append((999, "preview/missing.jpg"))

    loaded = pixels.load(tmp_path / items[0][1])
    assert loaded.dtype == torch.uint8  # workers ship bytes, the device normalises
    with Image.open(tmp_path / items[0][1]) as im:
        im.draft("RGB", (tiny_model.image_size,) * 2)
        reference = tiny_model.preprocess(im.convert("RGB"))
    torch.testing.assert_close(pixels.finish(loaded[None], tiny_model.device)[0], reference, rtol=0, atol=0)

    ids, vectors, failed = next(encode_batches(tiny_model, loader(tiny_model, items, tmp_path, 16, 0), False))
    assert list(ids) == [i for i, _ in items[:-1]] and list(failed) == [999]
    assert "FileNotFoundError" in failed[999]
    direct = tiny_model.encode_images([Image.open(tmp_path / rel) for _, rel in items[:-1]])
    assert np.min(np.sum(vectors * direct, axis=1)) > 0.98  # drafted decode vs full-size decode
