"""Turn a scene into something that looks like a MAST preview.

A scene is drawn on two float32 buffers in units of the sky noise: ``points`` holds
unresolved sources and is convolved with the instrument PSF (core, halo and diffraction
spikes along the detector axes); ``diffuse`` holds extended light and is smoothed with a
Gaussian. Both are convolved in one Fourier pass. Then come sky noise, cosmic rays, the
archive's asinh stretch, and the detector footprint (rotated, with chip gaps) on white.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import fft

from paperclip.imaging import stretch

SIZE = 512
_C = (np.arange(SIZE, dtype=np.float32) - SIZE / 2)[None, :]
_FX = fft.fftfreq(SIZE).astype(np.float32)[:, None]
_FY = fft.rfftfreq(SIZE).astype(np.float32)[None, :]
_F2 = _FX**2 + _FY**2
PSF_HALF = 90  # spikes fade out well within this


@dataclass(frozen=True)
class Instrument:
    name: str
    filters: tuple[str, ...]
    half_size: tuple[float, float]  # footprint half side in preview pixels (min, max)
    psf_sigma: float
    layout: str  # "gap" (two chips), "single", "wfpc2" (staircase)


INSTRUMENTS = {
    "ACS/WFC": Instrument("ACS/WFC", ("F435W", "F475W", "F606W", "F814W", "F658N"), (150, 178), 1.0, "gap"),
    "WFC3/UVIS": Instrument(
        "WFC3/UVIS", ("F275W", "F336W", "F438W", "F555W", "F656N", "F814W"), (135, 172), 1.0, "gap"
    ),
    "WFC3/IR": Instrument(
        "WFC3/IR", ("F105W", "F110W", "F125W", "F140W", "F160W"), (120, 165), 1.8, "single"
    ),
    "WFPC2": Instrument(
        "WFPC2", ("F300W", "F439W", "F555W", "F656N", "F675W", "F814W"), (115, 165), 1.1, "wfpc2"
    ),
}


@dataclass
class Frame:
    """One exposure being drawn: the two buffers plus the pointing that placed the footprint."""

    instrument: Instrument
    angle: float  # footprint rotation, radians
    half: float  # footprint half side, pixels
    centre: tuple[float, float]  # footprint centre relative to the canvas centre
    points: np.ndarray = field(default_factory=lambda: np.zeros((SIZE, SIZE), np.float32))
    diffuse: np.ndarray = field(default_factory=lambda: np.zeros((SIZE, SIZE), np.float32))
    smooth: float = 1.5  # Gaussian sigma applied to ``diffuse``

    def add_points(self, x: np.ndarray, y: np.ndarray, flux: np.ndarray) -> None:
        _splat(self.points, x, y, flux)

    def add_diffuse(self, x: np.ndarray, y: np.ndarray, flux: np.ndarray) -> None:
        _splat(self.diffuse, x, y, flux)

    def detector_uv(self) -> tuple[np.ndarray, np.ndarray]:
        """Canvas grids in the detector frame (u along the chips, v across), origin at its centre."""
        c, s = np.float32(np.cos(self.angle)), np.float32(np.sin(self.angle))
        x, y = _C - np.float32(self.centre[0]), _C.T - np.float32(self.centre[1])
        return c * x + s * y, -s * x + c * y


def _splat(buf: np.ndarray, x: np.ndarray, y: np.ndarray, flux: np.ndarray) -> None:
    """Bilinear deposit of point fluxes given in centred coordinates; off-canvas ones are dropped."""
    x = np.asarray(x, np.float32) + SIZE / 2
    y = np.asarray(y, np.float32) + SIZE / 2
    flux = np.broadcast_to(np.asarray(flux, np.float32), x.shape)
    ok = (x >= 0) & (x < SIZE - 1) & (y >= 0) & (y < SIZE - 1)
    x, y, flux = x[ok], y[ok], flux[ok]
    x0, y0 = x.astype(np.int32), y.astype(np.int32)
    fx, fy = x - x0, y - y0
    for dy, dx, w in (
        (0, 0, (1 - fx) * (1 - fy)),
        (0, 1, fx * (1 - fy)),
        (1, 0, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        np.add.at(buf, (y0 + dy, x0 + dx), flux * w)


def psf_kernel(instrument: Instrument, angle: float, spike: float) -> np.ndarray:
    """Unit-sum PSF, wrapped onto the canvas grid, with four spikes along the detector diagonals."""
    h = PSF_HALF
    x = np.arange(-h, h + 1, dtype=np.float32)[None, :]
    y = x.T
    r2 = x * x + y * y
    sig = instrument.psf_sigma
    core = np.exp(-r2 / (2 * sig * sig))
    halo = 1.0 / (1.0 + r2 / (3.0 * sig) ** 2) ** 2
    kernel = core / core.sum() + 0.03 * halo / halo.sum()
    for a in (angle + np.pi / 4, angle - np.pi / 4):
        along = np.abs(np.cos(a) * x + np.sin(a) * y)
        across = -np.sin(a) * x + np.cos(a) * y
        kernel += spike * np.exp(-(across**2) / (2 * 0.6**2)) / (1.0 + along / (2 * sig)) ** 1.6
    kernel /= kernel.sum()
    wrapped = np.zeros((SIZE, SIZE), np.float32)
    wrapped[: 2 * h + 1, : 2 * h + 1] = kernel
    return np.roll(wrapped, (-h, -h), axis=(0, 1))


def footprint(frame: Frame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(inside, gap): where the detector saw the sky, and the chip gaps shown white in previews."""
    u, v = frame.detector_uv()
    a = frame.half
    skew = rng.uniform(-0.06, 0.06)  # the slight rhomboid of distortion-corrected ACS/UVIS frames
    u = u + skew * v
    inside = (np.abs(u) < a) & (np.abs(v) < a)
    gap = np.zeros_like(inside)
    layout = frame.instrument.layout
    if layout == "gap":
        offset = rng.uniform(-0.04, 0.04) * a
        gap = inside & (np.abs(v - offset) < rng.uniform(1.2, 2.6))
    elif layout == "wfpc2":
        pc = 0.47 * a
        missing = (u > 0) & (v > 0) & ~((u < pc) & (v < pc))
        inside &= ~missing
        gap = inside & ((np.abs(u) < 0.8) | (np.abs(v) < 0.8))
    return inside, gap


def render(
    frame: Frame,
    rng: np.random.Generator,
    *,
    spike: float = 0.004,
    noise: float = 1.0,
    cosmic_rays: int = 0,
    stretch_a: float = 0.1,
) -> np.ndarray:
    """The finished 8-bit greyscale preview (SIZE x SIZE, white outside the footprint)."""
    psf = fft.rfft2(psf_kernel(frame.instrument, frame.angle, spike))
    gauss = np.exp(-2 * np.pi**2 * frame.smooth**2 * _F2).astype(np.float32)
    spectrum = fft.rfft2(frame.points) * psf + fft.rfft2(frame.diffuse) * gauss
    image = fft.irfft2(spectrum, s=(SIZE, SIZE)).astype(np.float32)
    image += noise * rng.standard_normal((SIZE, SIZE), dtype=np.float32)
    if cosmic_rays:
        _cosmic_rays(image, rng, cosmic_rays)
    inside, gap = footprint(frame, rng)
    image[~inside] = np.nan
    out = stretch(image, a=stretch_a)
    out[~inside | gap] = 255
    return out


def _cosmic_rays(image: np.ndarray, rng: np.random.Generator, n: int) -> None:
    """Sharp hits and short worms that skip the PSF, as in single-exposure previews."""
    length = rng.integers(1, 8, n)
    x0 = rng.uniform(-SIZE / 2, SIZE / 2, n)
    y0 = rng.uniform(-SIZE / 2, SIZE / 2, n)
    theta = rng.uniform(0, np.pi, n)
    steps = np.concatenate([np.arange(k) for k in length]).astype(np.float32)
    idx = np.repeat(np.arange(n), length)
    x = x0[idx] + steps * np.cos(theta[idx])
    y = y0[idx] + steps * np.sin(theta[idx])
    _splat(image, x, y, rng.uniform(20, 200, n)[idx])
