"""Image decoding and the paper's preview processing, shared by harvest, import and uploads.

Decoding sniffs the content (never trusts a name or a content type), refuses images whose
header promises more pixels than allowed before any pixel is decoded, and turns FITS data
into an 8-bit greyscale image with an astronomical (asinh) stretch.
"""

from __future__ import annotations

import io
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
            if w * h > max_pixels:
                raise ImageError(
                    f"image is {w}x{h} pixels, over the limit of {max_pixels}",
                    status=413,
                    reason="too_many_pixels",
                )
            img.load()
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


def _to_8bit(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return Image.fromarray(stretch(np.asarray(img, dtype=np.float64)))
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return img.convert("RGB")


def stretch(data: np.ndarray, a: float = 0.1) -> np.ndarray:
    """Asinh stretch between the 0.5 and 99.5 percentiles of the finite pixels; NaNs go black."""
    finite = np.isfinite(data)
    if not finite.any():
        raise ImageError("image has no finite pixel values", reason="no_finite_pixels")
    lo, hi = np.percentile(data[finite], [0.5, 99.5])
    scaled = np.zeros_like(data, dtype=np.float64)
    if hi > lo:
        scaled = np.clip((np.where(finite, data, lo) - lo) / (hi - lo), 0, 1)
    out = np.arcsinh(scaled / a) / np.arcsinh(1 / a)
    return (out * 255).round().astype(np.uint8)


def _decode_fits(data: bytes, max_pixels: int) -> Image.Image:
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # malformed files end as our error, not as library warnings
            with fits.open(io.BytesIO(data), memmap=False, lazy_load_hdus=True) as hdul:
                array = _first_image_plane(hdul, max_pixels)
    except ImageError:
        raise
    except Exception as e:
        raise ImageError(f"cannot read FITS: {e}", reason="corrupt") from e
    return Image.fromarray(np.flipud(stretch(array)), mode="L")


def _first_image_plane(hdul, max_pixels: int) -> np.ndarray:
    for hdu in hdul:
        width, height = hdu.header.get("NAXIS1", 0), hdu.header.get("NAXIS2", 0)
        if hdu.header.get("NAXIS", 0) >= 2 and width > 0 and height > 0:
            if width * height > max_pixels:
                raise ImageError(
                    f"FITS image is {width}x{height}, over the pixel limit",
                    status=413,
                    reason="too_many_pixels",
                )
            array = np.asarray(hdu.data, dtype=np.float64)
            while array.ndim > 2:  # cubes: the first plane
                array = array[0]
            return array
    raise ImageError("FITS file has no image HDU", reason="no_image_hdu")


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
