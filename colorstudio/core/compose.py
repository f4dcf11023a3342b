"""Joining predicted chroma with the original lightness, and edge-aware chroma upsampling.

All NumPy/OpenCV/SciPy (vectorised, multi-threaded inside OpenCV); no torch.
"""

from __future__ import annotations

import cv2
import numpy as np

from .color import _EPS, _KAPPA, _XYZ_TO_RGB, WHITE_D65, lab_to_rgb


def resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average when shrinking, bilinear when enlarging. (H, W[, C]) float32."""
    h, w = img.shape[:2]
    interp = cv2.INTER_AREA if width * height < w * h else cv2.INTER_LINEAR
    return cv2.resize(img, (width, height), interpolation=interp)


def guided_upsample(ab_low: np.ndarray, l_low: np.ndarray, l_full: np.ndarray,
                    radius: int = 2, eps: float = 4.0) -> np.ndarray:
    """Edge-aware chroma upsampling: a fast guided filter (He et al. 2013) with L as the guide.

    ab_low (h, w, 2) and l_low (h, w) at the network's resolution; l_full (H, W) L* in [0, 100].
    Per low-res window, ab = A * L + B is fitted by least squares; A and B are smooth, so they
    are upsampled bilinearly and applied to the full-resolution L: colour edges follow the
    photo's edges at full resolution instead of being blurred or blocky. -> (H, W, 2) float32.
    """
    h, w = l_low.shape
    big_h, big_w = l_full.shape
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT)

    mean_l = box(l_low)
    var_l = box(l_low * l_low) - mean_l * mean_l
    out = np.empty((big_h, big_w, 2), np.float32)
    for c in range(2):
        p = np.ascontiguousarray(ab_low[..., c])
        mean_p = box(p)
        cov = box(l_low * p) - mean_l * mean_p
        a = cov / (var_l + eps)
        b = mean_p - a * mean_l
        a, b = box(a), box(b)
        if (h, w) != (big_h, big_w):
            a = cv2.resize(a, (big_w, big_h), interpolation=cv2.INTER_LINEAR)
            b = cv2.resize(b, (big_w, big_h), interpolation=cv2.INTER_LINEAR)
        out[..., c] = a * l_full + b
    return out


class HintSolve:
    """The edge-aware system of a photo's hints (Levin, Lischinski and Weiss, SIGGRAPH 2004,
    "Colorization using Optimization"), factorised once, solved for any target.

    For a target t at the hinted pixels and a prior x0 everywhere, the field x minimises

        sum_(p,q neighbours) w_pq (x_p - x_q)^2 + decay * sum_p (x_p - x0_p)^2
            + weight * sum_(p hinted) (x_p - t_p)^2,
        w_pq = exp(-(L_p - L_q)^2 / (2 sigma^2)),

    one sparse symmetric solve on the 4-neighbour grid: neighbouring pixels of similar
    lightness get similar values, a strong lightness edge stops the spread, and `decay` pulls
    x back to the prior with (edge-aware) distance from the hints. l_star (h, w) L*,
    hint_mask (h, w) 0/1; `smooth` > 0: the weights come from L* blurred by a Gaussian of
    that many pixels, so fine texture (knit, foliage, brick) does not stop the spread while
    an object's edge still does; `step` > 0 (with `smooth`): a raw L* step larger than it
    still stops the spread, as it would unblurred (the blur spreads a strong edge into
    smaller steps that let it through). Sized for a few hundred pixels a side.
    """

    def __init__(self, l_star: np.ndarray, hint_mask: np.ndarray, sigma: float = 2.0,
                 decay: float = 1e-5, weight: float = 100.0, smooth: float = 0.0,
                 step: float = 0.0) -> None:
        import scipy.sparse as sp
        from scipy.sparse.linalg import splu

        h, w = l_star.shape
        self.shape = (h, w)
        self.hinted = np.asarray(hint_mask).reshape(-1) > 0
        self.weight, self.decay = weight, decay
        self._lu = None
        if not self.hinted.any():
            return
        n = h * w
        idx = np.arange(n).reshape(h, w)
        raw = np.asarray(l_star, np.float64)
        l64 = raw
        if smooth:  # the affinity of a lightly blurred L*: fine texture no longer stops it
            l64 = np.asarray(cv2.GaussianBlur(np.asarray(l_star, np.float32), (0, 0), smooth),
                             np.float64)
        rows, cols, vals = [], [], []
        for dy, dx in ((0, 1), (1, 0)):
            p, q = idx[: h - dy, : w - dx].ravel(), idx[dy:, dx:].ravel()
            dl = (l64[: h - dy, : w - dx] - l64[dy:, dx:]).ravel()
            if smooth and step:  # a raw step past `step` stops it as an unblurred one would
                over = np.abs(raw[: h - dy, : w - dx] - raw[dy:, dx:]).ravel() - step
                dl = np.sqrt(dl * dl + np.maximum(over, 0.0) ** 2)
            wt = np.exp(-dl * dl / (2 * sigma * sigma))
            rows += [p, q]
            cols += [q, p]
            vals += [-wt, -wt]
        lap = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                            shape=(n, n))
        degree = -np.asarray(lap.sum(axis=1)).ravel()
        system = lap + sp.diags(degree + decay + weight * self.hinted, format="csc")
        self._lu = splu(system, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})

    def solve(self, target: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
        """x (h, w, c) for `target` (h, w, c) at the hinted pixels and `prior` (default 0)."""
        h, w = self.shape
        c = target.shape[-1]
        if self._lu is None:
            return (np.zeros((h, w, c), np.float32) if prior is None
                    else np.asarray(prior, np.float32))
        hinted = (self.weight * self.hinted)[:, None]
        rhs = np.asarray(target, np.float64).reshape(h * w, c) * hinted
        if prior is not None:
            rhs += self.decay * np.asarray(prior, np.float64).reshape(h * w, c)
        return self._lu.solve(rhs).reshape(h, w, c).astype(np.float32)

    def influence(self) -> np.ndarray:
        """(h, w) in [0, 1]: how much the hints decide each pixel (the solution for t = 1)."""
        return np.clip(self.solve(np.ones((*self.shape, 1)))[..., 0], 0.0, 1.0)

    def correct(self, ab: np.ndarray, hint_ab: np.ndarray) -> np.ndarray:
        """`ab` (h, w, 2) made to agree with `hint_ab` (h, w, 2) at the hinted pixels: their
        disagreement is spread along the photo's edges, so a hint's colour is kept and far
        from every hint the prediction stands."""
        return (ab + self.solve(hint_ab - ab)).astype(np.float32)


def propagate_hints(l_star: np.ndarray, ab: np.ndarray, hint_ab: np.ndarray,
                    hint_mask: np.ndarray, sigma: float = 2.0, decay: float = 1e-5,
                    weight: float = 100.0) -> np.ndarray:
    """Make a prediction agree with the user's hints, spreading each correction along the
    photo (`HintSolve.correct`). l_star (h, w), ab and hint_ab (h, w, 2), hint_mask (h, w)."""
    if not (np.asarray(hint_mask) > 0).any():
        return np.asarray(ab, np.float32)
    return HintSolve(l_star, hint_mask, sigma, decay, weight).correct(ab, hint_ab)


def lab_to_rgb_fast(l_star: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Full-resolution Lab -> sRGB float32 [0, 1] through OpenCV (same formulas, SIMD, threads).

    OpenCV's float Lab uses D65 and sRGB gamma like `core.color` (tests hold them to 1e-3).
    """
    lab = cv2.merge([l_star.astype(np.float32, copy=False),
                     np.ascontiguousarray(ab[..., 0]), np.ascontiguousarray(ab[..., 1])])
    try:
        rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    except cv2.error:
        rgb = lab_to_rgb(lab)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def fit_chroma_to_gamut(l_star: np.ndarray, ab: np.ndarray, steps: int = 8,
                        tol: float = 1e-3) -> np.ndarray:
    """Shrink chroma where L*ab falls outside sRGB, so clipping does not shift lightness.

    l_star (h, w), ab (h, w, 2). Per out-of-gamut pixel, the largest scale s in [0, 1] with
    (L*, s*a*, s*b*) inside sRGB is found by bisection (`steps` halvings; s = 0, a neutral
    grey, is always inside): the colour keeps its hue and the photo its original lightness.
    The test is done on linear RGB (the sRGB curve is monotonic, so the gamut is the same and
    no powers are needed), without clipping: OpenCV's float Lab->RGB clips to [0, 1], so it
    cannot see how far a colour is outside.
    """
    ab = np.array(ab, dtype=np.float32, copy=True)
    fy = ((np.asarray(l_star, dtype=np.float32) + 16) / 116).reshape(-1)
    a = np.ascontiguousarray(ab[..., 0]).reshape(-1)
    b = np.ascontiguousarray(ab[..., 1]).reshape(-1)
    y = _f_inv(fy)
    m = _XYZ_TO_RGB * WHITE_D65[None, :]  # white point folded into the matrix
    lo_lim, hi_lim = -tol / 12.92, 1 + 2.5 * tol  # tol in sRGB units, mapped to linear

    def inside(fy_: np.ndarray, y_: np.ndarray, a_: np.ndarray, b_: np.ndarray) -> np.ndarray:
        x = _f_inv(fy_ + a_ * np.float32(1 / 500))
        z = _f_inv(fy_ - b_ * np.float32(1 / 200))
        ok = np.ones(len(fy_), bool)
        for row in m:  # one linear RGB channel at a time: no (N, 3) temporaries
            lin = row[0] * x + row[1] * y_ + row[2] * z
            ok &= lin >= lo_lim
            ok &= lin <= hi_lim
        return ok

    bad = np.flatnonzero(~inside(fy, y, a, b))
    if not len(bad):
        return ab
    fy_bad, y_bad, a_bad, b_bad = fy[bad], y[bad], a[bad], b[bad]
    lo = np.zeros(len(bad), np.float32)
    step = np.float32(0.5)
    for _ in range(steps):  # bisection: lo is always inside, lo + 2 * step never tested inside
        mid = lo + step
        lo = np.where(inside(fy_bad, y_bad, a_bad * mid, b_bad * mid), mid, lo)
        step = step / 2
    flat = ab.reshape(-1, 2)
    flat[bad, 0] = a_bad * lo
    flat[bad, 1] = b_bad * lo
    return ab


def _f_inv(t: np.ndarray) -> np.ndarray:
    """Inverse of the CIE f(): the same formula as `core.color`, float32."""
    t3 = t * t * t
    return np.where(t3 > _EPS, t3, (116 * t - 16) / _KAPPA).astype(np.float32, copy=False)
