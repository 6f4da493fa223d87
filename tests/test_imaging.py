"""Decoding refuses bad input with the right reason; previews follow the paper's processing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from benchmarks.stress.corpus import png_claiming
from paperclip.imaging import ImageError, decode, encode_jpeg, sniff, to_preview


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def fits_bytes(array: np.ndarray) -> bytes:
    from astropy.io import fits

    buf = io.BytesIO()
    fits.PrimaryHDU(array).writeto(buf)
    return buf.getvalue()


def test_sniff_by_content_not_name():
    assert sniff(encode_jpeg(Image.new("RGB", (4, 4)))).format == "JPEG"
    assert sniff(fits_bytes(np.zeros((4, 4)))).format == "FITS"
    with pytest.raises(ImageError) as e:
        sniff(b"SIMPLE text file renamed .fits")
    assert e.value.status == 415


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 400),
        (b"hello world", 415),
        (encode_jpeg(Image.new("RGB", (64, 64)))[:200], 422),
        (png_claiming(50_000, 50_000), 413),
    ],
    ids=["empty", "text", "truncated-jpeg", "pixel-bomb"],
)
def test_bad_input_statuses(data, status):
    with pytest.raises(ImageError) as e:
        decode(data)
    assert e.value.status == status


def test_fits_with_nans_decodes_to_greyscale():
    arr = np.random.default_rng(0).normal(100, 10, (60, 80))
    arr[10:20, 10:20] = np.nan
    img = decode(fits_bytes(arr))
    assert img.mode == "L" and img.size == (80, 60)
    assert np.asarray(img).std() > 10


def test_fits_all_nan_is_refused():
    with pytest.raises(ImageError, match="finite"):
        decode(fits_bytes(np.full((8, 8), np.nan)))


def test_sixteen_bit_png_is_stretched():
    arr = (np.random.default_rng(1).random((32, 32)) * 60000).astype(np.uint16)
    img = decode(png_bytes(Image.fromarray(arr)))
    assert img.mode == "L"


def test_preview_is_white_padded_square():
    img = to_preview(Image.new("RGB", (1000, 250), (0, 0, 0)))
    arr = np.asarray(img)
    assert img.size == (512, 512)
    assert (arr[0, 0] == 255).all() and (arr[256, 256] == 0).all()
    assert (arr[:, :, 0].min(axis=1) == 0).sum() == 128  # 250 * 512/1000 rows of content


def test_real_mast_preview(hst_mini):
    data = (hst_mini / "hst_15354_01_acs_wfc_total_jdi601_drc.jpg").read_bytes()
    img = decode(data)
    assert max(img.size) > 512
    assert to_preview(img).size == (512, 512)
