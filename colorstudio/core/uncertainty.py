"""The model's own a*b* distribution as data: colour suggestions at a pixel (its modes, as in
ideepcolor), an uncertainty map (normalised entropy), a "suggest a spot" pick and a heat overlay;
and the overlay of the hints' reach.

Coordinates: the photo covers [0, width] x [0, height] (x right, y down; pixel (i, j) is the
unit square with centre (j + 0.5, i + 0.5)), as in `core.hints`. Pure NumPy / OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .gamut import lab_to_rgb8, snap_ab_many

# Normalised entropy of p spread evenly over sqrt(Q) bins: the model is "sure" at or below
# it (the uncertainty map's 0; its 1 is the uniform distribution).
SURE_ENTROPY = 0.5
SUGGEST_FLOOR = 0.3  # on the uncertainty map's scale
SUGGEST_QUANTILE = 0.99
SUGGEST_FRACTION = 0.5  # of the way from the median to the top quantile
# The heat ramp, light to dark (CIE L* falls monotonically): yellow, orange, red, magenta.
_RAMP = np.array([[255, 235, 60], [255, 150, 20], [225, 30, 30], [190, 0, 150]], np.float32)
REACH_RGB = (40, 170, 255)  # the hints' reach: one light blue, as an editor's selection mask


@dataclass(frozen=True, eq=False)
class Distribution:
    """The model's predicted ab distribution over the photo (no hints), at the class head's grid."""

    probs: np.ndarray  # (h, w, Q) float16 or float32, rows sum to 1; covers the whole photo
    bins: np.ndarray  # (Q, 2) float32: a*, b* of each bin centre, on a grid of step `step`
    step: float = 10.0  # the bin grid's step in a*b* units

    def __post_init__(self) -> None:
        if self.probs.ndim != 3 or self.bins.shape != (self.probs.shape[2], 2):
            raise ValueError(f"probs {self.probs.shape} and bins {self.bins.shape} disagree")

    def at(self, u: float, v: float) -> np.ndarray:
        """(Q,) float32 at u = x / width, v = y / height (clamped to [0, 1]), bilinear between
        cell centres; constant beyond the outer centres."""
        h, w, _ = self.probs.shape
        x = float(np.clip(u * w - 0.5, 0, w - 1))
        y = float(np.clip(v * h - 0.5, 0, h - 1))
        x0, y0 = int(x), int(y)
        x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
        fx, fy = x - x0, y - y0
        p = self.probs[[y0, y0, y1, y1], [x0, x1, x0, x1]].astype(np.float32)
        top = p[0] * (1 - fx) + p[1] * fx
        bottom = p[2] * (1 - fx) + p[3] * fx
        return (top * (1 - fy) + bottom * fy).astype(np.float32)

    def modes(self, u: float, v: float, l_star: float, k: int = 6,
              min_prob: float = 0.02) -> list[tuple[int, int, int]]:
        """The distribution's modes at (u, v) as 8-bit sRGB at lightness `l_star`, most
        probable first, at most `k`, duplicates removed.

        p goes on the 2-D a*b* bin grid, is smoothed by a 3x3 Gaussian and its local maxima
        are kept greedily (none within one bin of a stronger one). A mode's mass is the raw p
        in its 3x3 bins; below `min_prob` it is dropped. Its colour is the p-weighted mean
        a*b* of those bins, snapped into the sRGB gamut at `l_star` along its hue."""
        p = self.at(u, v)
        idx = np.rint(self.bins / self.step).astype(np.int64)
        origin = idx.min(axis=0) - 1  # one empty bin of margin on every side
        idx -= origin
        shape = tuple(idx.max(axis=0) + 2)
        grid = np.zeros(shape, np.float32)
        np.add.at(grid, (idx[:, 0], idx[:, 1]), p)
        a_of, b_of = np.meshgrid(*((np.arange(n) + o) * np.float32(self.step)
                                   for n, o in zip(shape, origin)), indexing="ij")

        def box(x: np.ndarray) -> np.ndarray:
            x = x.astype(np.float32)
            return cv2.boxFilter(x, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)

        smooth = cv2.GaussianBlur(grid, (3, 3), 0, borderType=cv2.BORDER_CONSTANT)
        peak = (smooth >= cv2.dilate(smooth, np.ones((3, 3), np.uint8))) & (smooth > 0)
        mass, a_sum, b_sum = box(grid), box(grid * a_of), box(grid * b_of)
        kept: list[tuple[int, int]] = []
        for i, j in sorted(zip(*np.nonzero(peak)), key=lambda ij: -mass[ij]):
            if len(kept) == k or mass[i, j] < min_prob:
                break
            if all(abs(i - a) > 1 or abs(j - b) > 1 for a, b in kept):
                kept.append((i, j))
        centres = [(a_sum[ij] / mass[ij], b_sum[ij] / mass[ij]) for ij in kept]
        out: list[tuple[int, int, int]] = []
        if centres:
            for a, b in snap_ab_many(l_star, np.array(centres, np.float32)):
                colour = lab_to_rgb8(l_star, float(a), float(b))
                if colour not in out:
                    out.append(colour)
        return out

    def entropy(self) -> np.ndarray:
        """(h, w) float32 Shannon entropy / log(Q) in [0, 1] (rows renormalised; zeros ok)."""
        p = np.clip(self.probs.astype(np.float32), 0, None)
        total = p.sum(axis=-1, keepdims=True)
        p = np.divide(p, total, out=np.zeros_like(p), where=total > 0)
        q = p.shape[-1]
        if q < 2:
            return np.zeros(p.shape[:2], np.float32)
        h = -(p * np.log(np.maximum(p, np.float32(1e-30)))).sum(axis=-1)
        return np.clip(h / np.float32(np.log(q)), 0, 1).astype(np.float32)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays."""
        return int(self.probs.nbytes + self.bins.nbytes)


def uncertainty_map(dist: Distribution, height: int, width: int,
                    covered: np.ndarray | None = None) -> np.ndarray:
    """(height, width) float32 in [0, 1]: `dist.entropy()` smoothed (Gaussian, sigma 1 cell),
    rescaled so that `SURE_ENTROPY` and below is 0 and the uniform distribution 1, resized
    bilinearly, times (1 - covered) when `covered` (any size, 0..1: how much the hints
    already decide each pixel; resized bilinearly) is given."""
    ent = cv2.GaussianBlur(dist.entropy(), (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)
    ent = (ent - SURE_ENTROPY) / (1.0 - SURE_ENTROPY)
    unc = cv2.resize(ent, (width, height), interpolation=cv2.INTER_LINEAR)
    if covered is not None:
        cov = cv2.resize(np.asarray(covered, np.float32), (width, height),
                         interpolation=cv2.INTER_LINEAR)
        unc = unc * (1 - np.clip(cov, 0, 1))
    return np.clip(unc, 0, 1).astype(np.float32).reshape(height, width)


def suggest_spot(unc: np.ndarray, floor: float = SUGGEST_FLOOR) -> tuple[float, float] | None:
    """Where a hint would help most: a point well inside the largest uncertain region.

    Pixels with unc > max(floor, halfway from the median of unc to its 99th percentile) form
    8-connected regions (so the region stands out from the photo's typical uncertainty);
    the one with the largest area x mean uncertainty wins and its point farthest from its
    edge is returned as (x, y) pixel coordinates of `unc` (pixel centres at +0.5).
    None when nothing is above `floor`."""
    unc = np.asarray(unc, np.float32)
    mid, top = (float(v) for v in np.quantile(unc, [0.5, SUGGEST_QUANTILE]))
    level = max(floor, mid + SUGGEST_FRACTION * (top - mid))
    mask = (unc > level).astype(np.uint8)
    if not mask.any():
        return None
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    area = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    mean = np.bincount(labels.ravel(), unc.ravel(), minlength=n)[1:] / area
    best = 1 + int(np.argmax(area * mean))
    region = (labels == best).astype(np.uint8)
    dist = cv2.distanceTransform(np.pad(region, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    i, j = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(j) + 0.5, float(i) + 0.5


def heat_rgba(unc: np.ndarray, opacity: float = 0.6) -> np.ndarray:
    """(H, W, 4) uint8 overlay: colour along yellow -> orange -> red -> magenta with unc,
    alpha = opacity * 255 * unc (transparent where unc = 0); unc quantised to 1/255."""
    t = np.linspace(0, 1, 256, dtype=np.float32)  # a 256-entry lookup table
    pos = t * (len(_RAMP) - 1)
    lo = np.minimum(pos.astype(np.int64), len(_RAMP) - 2)
    f = (pos - lo)[:, None]
    rgb = _RAMP[lo] * (1 - f) + _RAMP[lo + 1] * f
    alpha = t * np.float32(np.clip(opacity, 0, 1) * 255)
    lut = np.rint(np.concatenate([rgb, alpha[:, None]], -1)).astype(np.uint8)
    level = np.rint(np.clip(np.asarray(unc, np.float32), 0, 1) * 255).astype(np.uint8)
    return lut[level]


def reach_rgba(influence: np.ndarray, height: int, width: int,
               opacity: float = 0.5) -> np.ndarray:
    """(height, width, 4) uint8 overlay of where the hints act: REACH_RGB with alpha =
    opacity * 255 * influence (0..1, any size, resized bilinearly; transparent where 0)."""
    inf = cv2.resize(np.asarray(influence, np.float32), (width, height),
                     interpolation=cv2.INTER_LINEAR)
    out = np.empty((height, width, 4), np.uint8)
    out[..., :3] = REACH_RGB
    out[..., 3] = np.rint(np.clip(inf, 0, 1) * np.float32(np.clip(opacity, 0, 1) * 255))
    return out
