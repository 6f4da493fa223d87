"""Image decoding and the paper's preview processing, shared by harvest, import and uploads.

Decoding sniffs the content (never trusts a name or a content type), refuses images whose
header promises more pixels than allowed before any pixel is decoded (counting every axis of a
FITS cube, the tiles of a tiled TIFF and of a tile-compressed FITS), reads only the first plane
of a cube or the first page of a TIFF, and turns FITS data into an 8-bit greyscale image with an
astronomical (asinh) stretch computed in float32.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

PREVIEW_SIZE = 512
FITS_MAGIC = b"SIMPLE  ="


class ImageError(ValueError):
    """Bad image input. ``status`` is the HTTP status a service should answer with."""

    def __init__(self, message: str, status: int = 422, reason: str = "invalid_image"):
        super().__init__(message)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Sniffed:
    format: str  # JPEG | PNG | TIFF | FITS
    mime: str


_MAGICS: list[tuple[bytes, Sniffed]] = [
    (b"\xff\xd8\xff", Sniffed("JPEG", "image/jpeg")),
    (b"\x89PNG\r\n\x1a\n", Sniffed("PNG", "image/png")),
    (b"II*\x00", Sniffed("TIFF", "image/tiff")),
    (b"MM\x00*", Sniffed("TIFF", "image/tiff")),
    (FITS_MAGIC, Sniffed("FITS", "application/fits")),
]


def sniff(data: bytes) -> Sniffed:
    if not data:
        raise ImageError("empty file", status=400, reason="empty")
    for magic, kind in _MAGICS:
        if data.startswith(magic):
            return kind
    raise ImageError(
        "unsupported file type: expected JPEG, PNG, TIFF or FITS", status=415, reason="unsupported_type"
    )


def decode(data: bytes, max_pixels: int = 64_000_000) -> Image.Image:
    """Bytes -> a fully loaded RGB or L image, or an ImageError that says why not."""
    kind = sniff(data)
    if kind.format == "FITS":
        return _decode_fits(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # corrupt tags and EXIF end as our error or are harmless
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[kind.format])
            w, h = img.size
            if w <= 0 or h <= 0:
                raise ImageError("image has no pixels", reason="no_pixels")
            _check_budget(f"{w}x{h}", w * h, max_pixels)
            if kind.format == "TIFF":
                _check_tiff_tiles(img, max_pixels)
            img.load()  # the first page of a multi-page TIFF only
            img = ImageOps.exif_transpose(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"image too large: {e}", status=413, reason="too_many_pixels") from e
    except Exception as e:  # PIL raises many types for corrupt data
        raise ImageError(f"cannot decode {kind.format} image: {e}", reason="corrupt") from e
    if img.mode not in ("RGB", "L"):
        img = _to_8bit(img)
    return img


def _check_budget(shape: str, pixels: int, max_pixels: int) -> None:
    if pixels > max_pixels:
        raise ImageError(
            f"image is {shape} ({pixels:,} pixels), over the limit of {max_pixels:,}",
            status=413,
            reason="too_many_pixels",
        )


def _check_tiff_tiles(img: Image.Image, max_pixels: int) -> None:
    """libtiff decodes whole tiles, and a tile may be far larger than the image it holds."""
    tile_w, tile_h = img.tag_v2.get(322), img.tag_v2.get(323)  # TileWidth, TileLength
    if tile_w is None and tile_h is None:
        return
    if not isinstance(tile_w, int) or not isinstance(tile_h, int) or tile_w <= 0 or tile_h <= 0:
        raise ImageError(f"TIFF tile size {tile_w}x{tile_h} is invalid", reason="corrupt")
    w, h = img.size
    padded_w, padded_h = -(-w // tile_w) * tile_w, -(-h // tile_h) * tile_h
    _check_budget(f"{w}x{h} in {tile_w}x{tile_h} tiles", padded_w * padded_h, max_pixels)


def _to_8bit(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return Image.fromarray(stretch(np.asarray(img, dtype=np.float32)))
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return img.convert("RGB")


def stretch(data: np.ndarray, a: float = 0.1) -> np.ndarray:
    """Asinh stretch between the 0.5 and 99.5 percentiles of the finite pixels; NaNs go black.

    Works in float32, in place where it can: the input may be as large as the pixel budget."""
    data = np.asarray(data, dtype=np.float32)
    finite = np.isfinite(data)
    if not finite.any():
        raise ImageError("image has no finite pixel values", reason="no_finite_pixels")
    lo, hi = (float(v) for v in np.percentile(data[finite], [0.5, 99.5]))
    if hi > lo:
        scaled = np.where(finite, data, np.float32(lo))
        scaled -= np.float32(lo)
        scaled *= np.float32(1 / (hi - lo))
        np.clip(scaled, 0, 1, out=scaled)
    else:
        scaled = np.zeros(data.shape, dtype=np.float32)
    del finite
    scaled *= np.float32(1 / a)
    np.arcsinh(scaled, out=scaled)
    scaled *= np.float32(255 / np.arcsinh(1 / a))
    return np.rint(scaled, out=scaled).astype(np.uint8)


def _decode_fits(data: bytes, max_pixels: int) -> Image.Image:
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # malformed files end as our error, not as library warnings
            index, naxis = _first_image_hdu(data, max_pixels)
            with fits.open(io.BytesIO(data), memmap=False, lazy_load_hdus=True) as hdul:
                # section reads (and decompresses) only the tiles of the first plane, not the cube
                plane = hdul[index].section[(0,) * (naxis - 2) + (slice(None), slice(None))]
                array = np.asarray(plane, dtype=np.float32)
    except ImageError:
        raise
    except Exception as e:
        raise ImageError(f"cannot read FITS: {e}", reason="corrupt") from e
    return Image.fromarray(np.flipud(stretch(array)), mode="L")


def _first_image_hdu(data: bytes, max_pixels: int) -> tuple[int, int]:
    """(index, NAXIS) of the first image HDU with pixels, from the headers alone.

    Opened with compression disabled so that a tile-compressed HDU shows its raw ZNAXISn and
    ZTILEn: the budget counts every axis of the image, and a cube's tiles must be one plane deep
    (astropy decompresses whole tiles, so deeper tiles would unpack several planes)."""
    from astropy.io import fits

    with fits.open(
        io.BytesIO(data), memmap=False, lazy_load_hdus=True, disable_image_compression=True
    ) as hdul:
        for index, hdu in enumerate(hdul):
            header = hdu.header
            compressed = header.get("ZIMAGE") is True
            if not compressed and (
                header.get("GROUPS") is True or header.get("XTENSION", "IMAGE").strip() != "IMAGE"
            ):
                continue  # tables and random groups hold no image
            prefix = "ZNAXIS" if compressed else "NAXIS"
            naxis = _axis(header, prefix)
            axes = [_axis(header, f"{prefix}{n}") for n in range(1, naxis + 1)]
            if naxis < 2 or 0 in axes:
                continue
            _check_budget("x".join(map(str, axes)), math.prod(axes), max_pixels)
            if compressed:
                tiles = [_axis(header, f"ZTILE{n}", axes[0] if n == 1 else 1) for n in range(1, naxis + 1)]
                if math.prod(min(t, a) for t, a in zip(tiles[2:], axes[2:], strict=True)) > 1:
                    raise ImageError(
                        f"compressed FITS tiles {'x'.join(map(str, tiles))} span several planes of the "
                        "cube; only single-plane tiles are decoded",
                        status=413,
                        reason="too_many_pixels",
                    )
            return index, naxis
    raise ImageError("FITS file has no image HDU", reason="no_image_hdu")


def _axis(header, key: str, default: int = 0) -> int:
    value = header.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise ImageError(f"FITS keyword {key} = {value!r} is not a valid axis length", reason="corrupt")
    return value


def to_preview(img: Image.Image, size: int = PREVIEW_SIZE) -> Image.Image:
    """The paper's processing: long side to ``size`` (Lanczos), centred on a white square."""
    img = img.convert("RGB")
    w, h = img.size
    scale = size / max(w, h)
    resized = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(resized, ((size - resized.width) // 2, (size - resized.height) // 2))
    return canvas


def encode_jpeg(img: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
