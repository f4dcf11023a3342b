"""The sRGB gamut in CIE L*a*b*: membership at one lightness, snapping a chroma inside along
its hue, and 8-bit sRGB <-> L*a*b* for single colours (pickers, swatches, suggestions)."""

from __future__ import annotations

import numpy as np

from .color import lab_to_rgb, rgb_to_lab


def in_gamut(l_star: float, a: np.ndarray, b: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """Whether each (a*, b*) at lightness `l_star` is an sRGB colour (within `tol`)."""
    lab = np.stack([np.full_like(a, l_star), a, b], axis=-1).astype(np.float32)
    rgb = lab_to_rgb(lab, clip=False)
    return np.all((rgb >= -tol) & (rgb <= 1 + tol), axis=-1)


def snap_ab(l_star: float, a: float, b: float) -> tuple[float, float]:
    """The nearest in-gamut chroma along the same hue at lightness `l_star` (bisection)."""
    if in_gamut(l_star, np.array([a]), np.array([b]))[0]:
        return a, b
    lo, hi = 0.0, 1.0
    for _ in range(20):
        mid = (lo + hi) / 2
        if in_gamut(l_star, np.array([a * mid]), np.array([b * mid]))[0]:
            lo = mid
        else:
            hi = mid
    return a * lo, b * lo


def snap_ab_many(l_star: float, ab: np.ndarray) -> np.ndarray:
    """`snap_ab` for an (N, 2) array of (a*, b*) at one lightness -> (N, 2) float32."""
    ab = np.asarray(ab, np.float32).reshape(-1, 2)
    inside = in_gamut(l_star, ab[:, 0], ab[:, 1])
    lo, hi = np.zeros(len(ab)), np.ones(len(ab))
    for _ in range(20):
        mid = (lo + hi) / 2
        ok = in_gamut(l_star, ab[:, 0] * mid, ab[:, 1] * mid)
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return np.where(inside[:, None], ab, ab * lo[:, None]).astype(np.float32)


def lab_to_rgb8(l_star: float, a: float, b: float) -> tuple[int, int, int]:
    """8-bit sRGB of one L*a*b* colour (clipped into the gamut channel-wise)."""
    rgb = lab_to_rgb(np.array([[l_star, a, b]], np.float32))[0]
    r, g, bb = (int(round(float(v) * 255)) for v in np.clip(rgb, 0, 1))
    return r, g, bb


def rgb8_to_lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """L*, a*, b* of one 8-bit sRGB colour."""
    lab = rgb_to_lab(np.array(rgb, np.float32).reshape(1, 3) / 255.0)[0]
    return float(lab[0]), float(lab[1]), float(lab[2])
