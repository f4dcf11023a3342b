"""Simulated user hints for training the hint-conditioned generator (Zhang et al. 2017).

Per image: no hints with probability `p_none`, otherwise a geometric number of hints
(p = 1/8, as in the paper) or, with probability `p_dense`, a log-uniform number in 1..`max_hints`
(a geometric count almost never reaches the dozens of hints an archivist places on one photo:
P(n >= 100) ~ 2e-6) or, with probability `p_few`, 1-3 hints (a user's first hints, where one
hint must say the most); each hint either a square patch (side 1-9 px) or, with probability
`p_stroke`, a short stroke segment (width 1-4 px); each carries the mean ground-truth ab
under it, as a user's single picked colour would.
"""

from __future__ import annotations

import numpy as np
import torch


def simulate_hints(
    ab: torch.Tensor, rng: np.random.Generator, p_none: float = 0.2, p_geom: float = 0.125,
    max_hints: int = 128, p_stroke: float = 0.3, p_dense: float = 0.0, p_few: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """ab (B, 2, H, W) normalised -> (hint_ab (B, 2, H, W), mask (B, 1, H, W))."""
    b, _, h, w = ab.shape
    hint_ab = torch.zeros_like(ab)
    mask = torch.zeros(b, 1, h, w, device=ab.device, dtype=ab.dtype)
    ys = torch.arange(h, device=ab.device, dtype=torch.float32).view(h, 1)
    xs = torch.arange(w, device=ab.device, dtype=torch.float32).view(1, w)
    for i in range(b):
        if rng.random() < p_none:
            continue
        if p_dense and rng.random() < p_dense:  # (no draw when off: old recipes replay)
            n = int(round(np.exp(rng.uniform(0.0, np.log(max_hints)))))
        elif p_few and rng.random() < p_few:  # (likewise)
            n = int(rng.integers(1, 4))
        else:
            n = min(int(rng.geometric(p_geom)), max_hints)
        for _ in range(n):
            if rng.random() < p_stroke:
                y0, x0 = rng.uniform(0, h), rng.uniform(0, w)
                length = rng.uniform(4, max(5.0, 0.3 * min(h, w)))
                ang = rng.uniform(0, np.pi)
                y1 = float(np.clip(y0 + length * np.sin(ang), 0, h - 1))
                x1 = float(np.clip(x0 + length * np.cos(ang), 0, w - 1))
                half = rng.uniform(0.5, 2.0)
                dy, dx = y1 - y0, x1 - x0
                t = ((ys - y0) * dy + (xs - x0) * dx) / max(dy * dy + dx * dx, 1e-6)
                t = t.clamp(0, 1)
                dist2 = (ys - (y0 + t * dy)) ** 2 + (xs - (x0 + t * dx)) ** 2
                sel = dist2 <= half * half
            else:
                size = int(rng.integers(1, 10))
                y0 = int(rng.integers(0, max(1, h - size + 1)))
                x0 = int(rng.integers(0, max(1, w - size + 1)))
                sel = torch.zeros(h, w, dtype=torch.bool, device=ab.device)
                sel[y0:y0 + size, x0:x0 + size] = True
            if not bool(sel.any()):
                continue
            colour = ab[i][:, sel].mean(1)
            hint_ab[i][:, sel] = colour.view(2, 1)
            mask[i, 0][sel] = 1.0
    return hint_ab, mask
