"""The hints' learned transfer (issue 14): within the hints' reach, how much more (or less) of
each hint's correction a pixel should take than the local solve gives it.

The local solve (`engine.pipeline._follow_hints`) spreads a hint's colour by fixed rules. On
colour photos with ground-truth hints its result under-follows them where the model was unsure
and few hints were given, and over-follows the network's response elsewhere. This module adds
a linear correction, fitted by least squares on training photos (`training/fit_hint_transfer.py`,
never on val): at each pixel, two correction directions, each scaled by a weighted sum of
seven features the solve already knows.

Directions (a*b* fields, each zero beyond the hints' reach, so a hint still changes nothing
past a strong edge):
- `disagreement`: the hints' disagreement with the hint-free prediction, spread over their
  reach (the reach's own edge-aware solve);
- `response`: the network's response to the hints within the reach.
A third, the fill's own correction, gained 0.1-0.2 dB more at 10 and 100 hints on the dev
split but pulled a hinted region back towards the network's mixed response to two hints of
different colours (training/NOTES.md, twelfth session): not used.
Features: a constant, the reach, the fill's own reach, the model's uncertainty (the normalised
entropy of its a*b* distribution) at the pixel and at the hints, the hint count (log-scaled,
1 -> 0, 100 or more -> 1) and the count times the reach. Every term is faded by the fill's own
reach (1 - it): where the fill holds a hint's colour, near the hint, the transfer adds nothing,
so a hint keeps the colour the user gave it where it was painted. Pure NumPy.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .compose import HintSolve

FEATURES = ("one", "reach", "fill_reach", "entropy", "hint_entropy", "count", "count_reach")
DIRECTIONS = ("disagreement", "response")
N_COEFFS = len(FEATURES) * len(DIRECTIONS)


def count_feature(count: int) -> float:
    """The hint count on the scale the transfer was fitted on: log(n) / log(100) in [0, 1]."""
    return min(max(math.log(max(count, 1)) / math.log(100), 0.0), 1.0)


def transfer_basis(reach_solve: HintSolve, fill_solve: HintSolve, free: np.ndarray,
                   guided: np.ndarray, hint_ab: np.ndarray, entropy: np.ndarray,
                   count: int) -> np.ndarray:
    """(h, w, 2, N_COEFFS) float32: every direction times every feature, directions outer.

    The solves are the local solve's (reach: target 1 at the hints, no prior; fill). `free`,
    `guided` and `hint_ab` are (h, w, 2) on the solve's grid; `entropy` is the model's
    normalised entropy, any size (resized)."""
    h, w = free.shape[:2]
    reach = reach_solve.influence()[..., None]
    safe = np.maximum(reach, 1e-3)
    ent = cv2.resize(np.asarray(entropy, np.float32), (w, h),
                     interpolation=cv2.INTER_LINEAR)[..., None]
    n = np.float32(count_feature(count))
    fill_reach = fill_solve.influence()[..., None]
    features = (np.ones_like(reach), reach, fill_reach, ent,
                np.clip(reach_solve.solve(ent) / safe, 0, 1), np.full_like(reach, n), n * reach)
    directions = (reach_solve.solve(hint_ab - free), reach * (guided - free))
    basis = np.stack([f * d for d in directions for f in features], -1)
    return (basis * (1 - fill_reach)[..., None]).astype(np.float32)


def apply_transfer(ab: np.ndarray, basis: np.ndarray, coeffs: tuple[float, ...]) -> np.ndarray:
    """`ab` (h, w, 2) plus the basis weighted by the fitted coefficients."""
    return (ab + basis @ np.asarray(coeffs, np.float32)).astype(np.float32)


class TransferFit:
    """Weighted least squares for the coefficients, accumulated one photo at a time.

    Each photo adds its basis and its residual (truth - the local solve's a*b*), weighted by
    1 / its mean squared residual: the mean over photos of -log(MSE) (PSNR) is what the
    coefficients should raise, and its gradient weights each photo's squared error so."""

    def __init__(self) -> None:
        self.gram = np.zeros((N_COEFFS, N_COEFFS))
        self.rhs = np.zeros(N_COEFFS)
        self.photos = 0

    def add(self, basis: np.ndarray, residual: np.ndarray) -> None:
        x = np.asarray(basis, np.float64).reshape(-1, N_COEFFS)
        y = np.asarray(residual, np.float64).reshape(-1)
        weight = 1.0 / max(float(np.mean(y * y)), 1.0)
        self.gram += weight * x.T @ x
        self.rhs += weight * x.T @ y
        self.photos += 1

    def solve(self, ridge: float = 1e-3) -> tuple[float, ...]:
        """The coefficients; `ridge` times the Gram matrix's mean diagonal keeps them finite
        where a feature never varied."""
        if not self.photos:
            raise ValueError("no photos were added to the fit")
        damp = ridge * np.trace(self.gram) / N_COEFFS * np.eye(N_COEFFS)
        return tuple(float(c) for c in np.linalg.solve(self.gram + damp, self.rhs))
