"""Property tests: whatever bytes arrive, decoding answers an image or an ImageError, nothing else."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from paperclip.imaging import ImageError, decode, sniff

ERROR_STATUSES = {400, 413, 415, 422}


def _encoded(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    if fmt == "FITS":
        from astropy.io import fits

        buf = io.BytesIO()
        fits.PrimaryHDU(rng.normal(size=(24, 24))).writeto(buf)
        return buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray((rng.random((24, 24, 3)) * 255).astype("uint8")).save(buf, format=fmt)
    return buf.getvalue()


VALID = {fmt: _encoded(fmt) for fmt in ("JPEG", "PNG", "TIFF", "FITS")}


def _decode_or_error(data: bytes) -> None:
    try:
        img = decode(data, max_pixels=4_000_000)
    except ImageError as e:
        assert e.status in ERROR_STATUSES and str(e)
    else:
        assert img.mode in ("RGB", "L") and img.width > 0 and img.height > 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data):
    _decode_or_error(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(VALID)), st.data())
def test_truncated_and_corrupted_files(fmt, data):
    raw = bytearray(VALID[fmt])
    cut = data.draw(st.integers(0, len(raw)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), max_size=8))
    for pos, value in flips:
        raw[pos] = value
    _decode_or_error(bytes(raw[:cut]))


@pytest.mark.parametrize("fmt", sorted(VALID))
def test_valid_files_decode(fmt):
    assert sniff(VALID[fmt]).format == fmt
    assert decode(VALID[fmt]).size == (24, 24)
