"""Decoding refuses bad input with the right reason before reading pixels; previews follow the
paper's processing."""

from __future__ import annotations

import io
import json
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.stress.corpus import fits_claiming, jpeg_claiming, png_claiming, tiff_claiming
from paperclip.imaging import ImageError, decode, encode_jpeg, sniff, to_preview

REPO = Path(__file__).resolve().parents[1]


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def fits_bytes(array: np.ndarray) -> bytes:
    from astropy.io import fits

    buf = io.BytesIO()
    fits.PrimaryHDU(array).writeto(buf)
    return buf.getvalue()


def compressed_fits(cube: np.ndarray, tile_shape=None, compression="RICE_1") -> bytes:
    """A tile-compressed image extension behind an empty primary HDU, as archives ship them."""
    from astropy.io import fits

    buf = io.BytesIO()
    hdu = fits.CompImageHDU(cube, compression_type=compression, tile_shape=tile_shape)
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buf)
    return buf.getvalue()


def with_header(data: bytes, index: int, **cards) -> bytes:
    """The same file with some raw header cards of HDU ``index`` changed (compression left off)."""
    from astropy.io import fits

    with fits.open(io.BytesIO(data), disable_image_compression=True) as hdul:
        hdul[index].header.update(cards)
        buf = io.BytesIO()
        hdul.writeto(buf, output_verify="ignore")
    return buf.getvalue()


def cube(planes: int, height: int, width: int, dtype=np.float32) -> np.ndarray:
    """Faint stripes on every plane; only plane 0 has a bright left half."""
    data = np.zeros((planes, height, width), dtype)
    data[:, ::50, :] = 100
    data[0, :, : width // 2] += 1000
    return data


def tiff_tiled(width: int, height: int, tile: int) -> bytes:
    """A deflate-compressed 8-bit TIFF whose one tile is ``tile`` x ``tile`` pixels of zeros."""
    zipper = zlib.compressobj(9)
    body = b"".join(zipper.compress(bytes(tile)) for _ in range(tile)) + zipper.flush()
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 8), (262, 3, 1), (277, 3, 1)]
    tags += [(322, 4, tile), (323, 4, tile), (324, 4, 8 + 2 + 12 * 10 + 4), (325, 4, len(body))]
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *tag[:2], 1, tag[2]) for tag in tags)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00\x00\x00\x00" + body


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


@pytest.fixture(scope="module")
def fits_bomb(tmp_path_factory) -> Path:
    """The bomb from issue 13: a tile-compressed 40 x 1000 x 1000 cube, about 1 MB (16-bit
    integers compress five times faster than quantized floats; decoding is the same)."""
    path = tmp_path_factory.mktemp("bomb") / "cube.fits"
    path.write_bytes(compressed_fits(cube(40, 1000, 1000, np.int16)))
    return path


MEASURE = """
import io, json, resource, sys, tracemalloc
import numpy as np
from astropy.io import fits
from paperclip.imaging import decode

small = io.BytesIO()
fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(np.ones((2, 8, 8), np.float32))]).writeto(small)
decode(small.getvalue())  # astropy and its codecs loaded: the baseline
data = open(sys.argv[1], "rb").read()
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
img = decode(data)
traced = tracemalloc.get_traced_memory()[1]
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
pixels = np.asarray(img, dtype=np.float64)
print(json.dumps({"rss_kb": grown, "traced": traced, "size": img.size,
                  "left": pixels[:, :400].mean(), "right": pixels[:, 600:].mean()}))
"""


def test_fits_bomb_reads_only_the_first_plane_in_bounded_memory(fits_bomb):
    assert fits_bomb.stat().st_size < 2_000_000
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(fits_bomb)], capture_output=True, text=True, check=True, cwd=REPO
    )
    got = json.loads(out.stdout)
    assert tuple(got["size"]) == (1000, 1000)
    assert got["left"] > got["right"] + 100  # plane 0's bright half: the first plane, not another one
    assert got["rss_kb"] < 64 * 1024, got  # the whole cube as float64 would be 320 MB
    assert got["traced"] < 64 * 2**20, got


def test_fits_budget_counts_every_axis_before_reading():
    with pytest.raises(ImageError) as e:  # planes of 10k pixels, 30k in all
        decode(fits_bytes(cube(3, 100, 100)), max_pixels=20_000)
    assert e.value.status == 413 and "100x100x3" in str(e.value)

    small = compressed_fits(cube(2, 100, 100))
    assert decode(small, max_pixels=20_000).size == (100, 100)
    claiming = with_header(small, 1, ZNAXIS3=1_000_000)  # the table still holds 2 planes of data
    with pytest.raises(ImageError) as e:
        decode(claiming)
    assert e.value.status == 413 and e.value.reason == "too_many_pixels"

    header = "".join(
        card.ljust(80)
        for card in ["SIMPLE  = T", "BITPIX  = -32", "NAXIS   = 3", "NAXIS1  = 10000", "NAXIS2  = 10000"]
        + ["NAXIS3  = 10000", "END"]
    )
    with pytest.raises(ImageError) as e:  # a header with no data at all: refused before any read
        decode(header.ljust(2880).encode())
    assert e.value.status == 413


def test_compressed_tiles_spanning_planes_are_refused():
    whole_cube_tile = compressed_fits(cube(4, 64, 64), tile_shape=(4, 64, 64), compression="GZIP_1")
    with pytest.raises(ImageError) as e:
        decode(whole_cube_tile)
    assert e.value.status == 413 and "span several planes" in str(e.value)


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "tile-compressed"])
def test_cube_first_plane_as_float32(compressed):
    from astropy.io import fits

    data = cube(3, 20, 30).astype(np.float64)
    buf = io.BytesIO()
    table = fits.BinTableHDU.from_columns([fits.Column(name="x", format="E", array=np.arange(5.0))])
    image = fits.CompImageHDU(data) if compressed else fits.ImageHDU(data)
    fits.HDUList([fits.PrimaryHDU(), table, image]).writeto(buf)  # a table first: not an image
    img = decode(buf.getvalue())
    pixels = np.asarray(img, dtype=np.float64)
    assert img.mode == "L" and img.size == (30, 20)
    assert pixels[:, :10].mean() > pixels[:, 20:].mean() + 100


def test_bad_fits_axes_are_corrupt_not_crashes():
    bad = fits_claiming(10, 10).replace(b"NAXIS1  =                   10", b"NAXIS1  =                 -10")
    with pytest.raises(ImageError) as e:
        decode(bad)
    assert e.value.status == 422 and e.value.reason == "corrupt"


@pytest.mark.parametrize(
    "data",
    [
        png_claiming(9000, 9000),
        tiff_claiming(9000, 9000),
        jpeg_claiming(9000, 9000, random.Random(0)),
        fits_claiming(9000, 9000),
    ],
    ids=["png", "tiff", "jpeg", "fits"],
)
def test_headers_claiming_too_many_pixels_are_refused(data):
    assert len(data) < 20_000  # 81M pixels claimed by a few kB
    with pytest.raises(ImageError) as e:
        decode(data, max_pixels=64_000_000)
    assert e.value.status == 413 and e.value.reason == "too_many_pixels"


def test_tiff_tiles_count_against_the_budget():
    assert decode(tiff_tiled(16, 16, 256)).size == (16, 16)  # a normal tile size
    bomb = tiff_tiled(16, 16, 8192)  # 64 kB that libtiff would unpack into a 64 MB tile
    with pytest.raises(ImageError) as e:
        decode(bomb, max_pixels=64_000_000)
    assert e.value.status == 413 and "8192x8192 tiles" in str(e.value)


def test_multipage_tiff_decodes_the_first_page_only():
    first = Image.fromarray(np.tile(np.arange(40, dtype=np.uint8) * 6, (30, 1)))
    big = Image.new("L", (3000, 3000))
    buf = io.BytesIO()
    first.save(buf, format="TIFF", save_all=True, append_images=[big], compression="tiff_deflate")
    img = decode(buf.getvalue(), max_pixels=2_000)  # the second page alone is over the budget
    assert img.size == (40, 30) and np.array_equal(np.asarray(img), np.asarray(first))

    buf = io.BytesIO()
    big.save(buf, format="TIFF", save_all=True, append_images=[first], compression="tiff_deflate")
    with pytest.raises(ImageError) as e:
        decode(buf.getvalue(), max_pixels=2_000)
    assert e.value.status == 413


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
