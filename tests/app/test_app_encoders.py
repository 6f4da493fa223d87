"""The CPU text tower in ONNX Runtime: adopted only where it keeps cosine >= 0.99 to torch."""

from __future__ import annotations

import logging

import numpy as np

from app import encoders
from benchmarks.bench_search import distinct_queries


def test_onnx_text_encoder_matches_torch_and_is_cached(lite_model, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    torch_encode = encoders.text_encoder(lite_model, compile_text=False)
    onnx_encode = encoders.text_encoder(lite_model, compile_text=False, runtime="onnx", cache=tmp_path)
    assert any("ONNX Runtime" in r.message for r in caplog.records)
    queries = distinct_queries(200, seed=3) + ["a", "M87 jet", "the " * 60]
    for batch in ([queries[0]], queries[:8], queries):
        cosine = np.sum(onnx_encode(batch) * torch_encode(batch), axis=1)
        assert cosine.min() >= encoders.ONNX_MIN_COSINE, cosine.min()
    exported = list((tmp_path / "onnx").glob("text-*.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    encoders.text_encoder(lite_model, compile_text=False, runtime="onnx", cache=tmp_path)
    assert exported[0].stat().st_mtime_ns == stamp  # exported once per weights


def test_an_unfaithful_onnx_encoder_is_refused(lite_model, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(encoders, "ONNX_MIN_COSINE", 1.5)  # no encoder can pass: torch must serve
    encode = encoders.text_encoder(lite_model, compile_text=False, runtime="onnx", cache=tmp_path)
    assert any("refused" in r.message for r in caplog.records)
    reference = lite_model.encode_text(["globular clusters"])
    np.testing.assert_allclose(encode(["globular clusters"]), reference, atol=1e-5)


def test_towers_that_are_not_hugging_face_stay_on_torch(tiny_model, tmp_path):
    encode = encoders.text_encoder(tiny_model, compile_text=False, runtime="onnx", cache=tmp_path)
    np.testing.assert_allclose(encode(["x ray"]), tiny_model.encode_text(["x ray"]), atol=1e-5)
    assert not (tmp_path / "onnx").exists()
