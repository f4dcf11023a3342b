"""Colour science: exact sRGB <-> CIE L*a*b* (D65, 2 degree observer), vectorised with NumPy.

All functions take and return float32 arrays of shape (..., 3) (or (...) for L alone).
sRGB values are in [0, 1]; L* in [0, 100]; a*, b* roughly in [-128, 127].
Integer images are scaled by their dtype's maximum, so 8- and 16-bit data go through the
same code (`to_unit_float`, `from_unit_float`).

Network normalisations live here too, in one place (`NORMALISATIONS`): a model card names
the one its network uses and the engine and the trainer both look it up here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# D65 reference white, 2 degree observer (the same constants as scikit-image).
WHITE_D65 = np.array([0.95047, 1.0, 1.08883], dtype=np.float32)

_RGB_TO_XYZ = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ],
    dtype=np.float32,
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ.astype(np.float64)).astype(np.float32)

_EPS = np.float32(216 / 24389)  # (6/29)^3
_KAPPA = np.float32(24389 / 27)


def to_unit_float(img: np.ndarray) -> np.ndarray:
    """Integer or float image -> float32 in [0, 1] (uint8 / 255, uint16 / 65535)."""
    if img.dtype == np.uint8:
        return img.astype(np.float32) * np.float32(1 / 255)
    if img.dtype == np.uint16:
        return img.astype(np.float32) * np.float32(1 / 65535)
    return img.astype(np.float32, copy=False)


def from_unit_float(img: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """float in [0, 1] -> `dtype` (uint8, uint16 or float32), rounded and clipped."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.clip(img, 0.0, 1.0).astype(dtype)
    peak = np.iinfo(dtype).max
    # OpenCV takes a small (H, W, 3) array for a scalar tuple; only large images need speed.
    if dtype == np.uint8 and img.dtype == np.float32 and img.ndim in (2, 3) and img.size > 4096:
        import cv2  # one multi-threaded pass: scale, round, saturate

        return cv2.convertScaleAbs(cv2.max(img, 0.0), alpha=255.0)
    scaled = np.multiply(img, peak, dtype=np.float32)
    np.clip(scaled, 0, peak, out=scaled)
    np.rint(scaled, out=scaled)
    return scaled.astype(dtype)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=np.float32)
    # np.where evaluates both branches: keep the power's base positive (no NaN warnings for
    # slightly negative, out-of-gamut values, which take the linear branch anyway).
    curve = ((np.maximum(rgb, 0.04045) + 0.055) / 1.055) ** 2.4
    return np.where(rgb <= 0.04045, rgb / 12.92, curve).astype(np.float32)


def linear_to_srgb(lin: np.ndarray) -> np.ndarray:
    lin = np.asarray(lin, dtype=np.float32)
    safe = np.maximum(lin, 0.0)
    out = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * safe ** (1 / 2.4) - 0.055)
    return out.astype(np.float32)


def _f(t: np.ndarray) -> np.ndarray:
    return np.where(t > _EPS, np.cbrt(t), (_KAPPA * t + 16) / 116).astype(np.float32)


def _f_inv(t: np.ndarray) -> np.ndarray:
    t3 = t * t * t
    return np.where(t3 > _EPS, t3, (116 * t - 16) / _KAPPA).astype(np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1], shape (..., 3) -> Lab float32, shape (..., 3)."""
    xyz = srgb_to_linear(rgb) @ _RGB_TO_XYZ.T
    fx, fy, fz = (_f(xyz[..., i] / WHITE_D65[i]) for i in range(3))
    lab = np.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], axis=-1)
    return lab.astype(np.float32)


def lab_to_rgb(lab: np.ndarray, clip: bool = True) -> np.ndarray:
    """Lab, shape (..., 3) -> sRGB float32 in [0, 1] (clipped unless `clip` is False)."""
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + 16) / 116
    fx = fy + lab[..., 1] / 500
    fz = fy - lab[..., 2] / 200
    xyz = np.stack([_f_inv(fx), _f_inv(fy), _f_inv(fz)], axis=-1) * WHITE_D65
    rgb = linear_to_srgb(xyz @ _XYZ_TO_RGB.T)
    return np.clip(rgb, 0.0, 1.0) if clip else rgb


def luminance_to_l(y: np.ndarray) -> np.ndarray:
    """Relative luminance Y in [0, 1] -> L* in [0, 100]."""
    return (116 * _f(np.asarray(y, dtype=np.float32)) - 16).astype(np.float32)


def grey_to_l(grey: np.ndarray) -> np.ndarray:
    """A grey sRGB-encoded image in [0, 1] -> L* (a neutral grey has Y = linear(grey))."""
    return luminance_to_l(srgb_to_linear(grey))


_LUTS: dict[str, np.ndarray] = {}


def grey_int_to_l(grey: np.ndarray) -> np.ndarray:
    """uint8/uint16 grey -> L* through a lookup table (exact, and O(1) per pixel)."""
    key = grey.dtype.str
    if key not in _LUTS:
        peak = np.iinfo(grey.dtype).max
        _LUTS[key] = grey_to_l(np.arange(peak + 1, dtype=np.float32) / peak)
    return _LUTS[key][grey]


def rgb_int_to_l(rgb: np.ndarray) -> np.ndarray:
    """uint8/uint16 sRGB (..., 3) -> L*: linearise by lookup table, then one matrix row."""
    key = "lin" + rgb.dtype.str
    if key not in _LUTS:
        peak = np.iinfo(rgb.dtype).max
        _LUTS[key] = srgb_to_linear(np.arange(peak + 1, dtype=np.float32) / peak)
    lin = _LUTS[key]
    w = _RGB_TO_XYZ[1]
    y = lin[rgb[..., 0]] * w[0] + lin[rgb[..., 1]] * w[1] + lin[rgb[..., 2]] * w[2]
    return luminance_to_l(y)


def rgb_to_l(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1], shape (..., 3) -> L* only (cheaper than a full conversion)."""
    y = srgb_to_linear(rgb) @ _RGB_TO_XYZ[1]
    return luminance_to_l(y)


def l_to_grey(l_star: np.ndarray) -> np.ndarray:
    """L* -> the neutral sRGB grey value in [0, 1] with that lightness."""
    y = _f_inv((np.asarray(l_star, dtype=np.float32) + 16) / 116)
    return np.clip(linear_to_srgb(y), 0.0, 1.0)


@dataclass(frozen=True)
class Normalisation:
    """How a network sees Lab: ``net_L = L / l_scale - l_shift``, ``net_ab = ab / ab_scale``."""

    name: str
    l_scale: float
    l_shift: float
    ab_scale: float

    def l_to_net(self, l_star: np.ndarray) -> np.ndarray:
        return (np.asarray(l_star, np.float32) / self.l_scale - self.l_shift).astype(np.float32)

    def ab_to_net(self, ab: np.ndarray) -> np.ndarray:
        return (np.asarray(ab, np.float32) / self.ab_scale).astype(np.float32)

    def ab_from_net(self, ab: np.ndarray) -> np.ndarray:
        return (np.asarray(ab, np.float32) * self.ab_scale).astype(np.float32)


#: The one place where network normalisations are defined; cards refer to them by name.
NORMALISATIONS: dict[str, Normalisation] = {
    # L in [-1, 1], ab / 110 (Zhang et al. 2017, ideepcolor; pix2pix colourisation repos).
    "lab_l50_ab110": Normalisation("lab_l50_ab110", 50.0, 1.0, 110.0),
    # L in [-1, 1], ab / 128 (Mane et al. 2021: "tanh output scaled by 128").
    "lab_l50_ab128": Normalisation("lab_l50_ab128", 50.0, 1.0, 128.0),
    # L in [0, 1] as a grey image in [-1, 1] for RGB-predicting GANs (000, 001); output RGB in
    # [-1, 1] via tanh. Only the L channel is defined here; RGB is handled by the arch.
    "rgb_tanh": Normalisation("rgb_tanh", 50.0, 1.0, 1.0),
}


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness of an sRGB image in [0, 1], on the 0-255 scale."""
    rgb = np.asarray(rgb, dtype=np.float32) * 255.0
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    std = np.hypot(rg.std(), yb.std())
    mean = np.hypot(rg.mean(), yb.mean())
    return float(std + 0.3 * mean)
