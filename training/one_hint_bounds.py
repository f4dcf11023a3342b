"""How much can one hint gain? Bounds on the DEV split (never val), the default model.

python training/one_hint_bounds.py [--n 60] [--source S]

For each held-out photo, with one ground-truth hint drawn as `colorstudio eval --hints 1`
draws it, prints the mean PSNR of:
- `none`: the automatic colours (no hint);
- `pipeline`: the bundled hint solve;
- `shift B`: the automatic colours moved everywhere by B x the hint's disagreement with them
  (the hint read as a white-balance correction, and nothing else);
- `pipeline+shift B`: the solve, plus that shift beyond the hint's reach;
- `pipeline+oracle share in/out`: the solve plus the share of the hint's disagreement, spread
  as the reach spreads it (inside) or beyond it, that is best for each photo (from the truth:
  what knowing how far one hint's correction carries would gain);
- `oracle offset`: the automatic colours moved by the best constant a*b* offset (from the
  truth: what a perfect global correction could gain);
- `oracle affine`: the best per-channel scale and offset (likewise).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from colorstudio.core.color import rgb_to_lab
from colorstudio.core.compose import lab_to_rgb_fast
from colorstudio.core.metrics import psnr
from colorstudio.engine.evaluate import sample_hints
from colorstudio.engine.models import ModelStore
from colorstudio.engine.pipeline import colorize_l

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dev_eval import dev_images  # noqa: E402

OUTDOOR = "sun-scenes,camvid,photo-style,bsds500,polyu-clean,wallpapers-budgie"
BETAS = (0.25, 0.5, 0.75, 1.0)


def _affine(ab: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per channel, the least-squares scale and offset of `ab` towards `truth`."""
    out = np.empty_like(ab)
    for k in range(2):
        a = np.stack([ab[..., k].ravel(), np.ones(ab[..., k].size)], 1)
        coef = np.linalg.lstsq(a, truth[..., k].ravel(), rcond=None)[0]
        out[..., k] = ab[..., k] * coef[0] + coef[1]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--source", default=OUTDOOR)
    args = ap.parse_args()
    model = ModelStore().load(None, torch.device("cpu"))
    images = dev_images(Path("training/recipes/guided_mobilenet.toml"), args.n, args.source)
    rows: dict[str, list[float]] = {}

    def add(name: str, ab: np.ndarray, l_star: np.ndarray, rgb: np.ndarray) -> None:
        rows.setdefault(name, []).append(psnr(lab_to_rgb_fast(l_star, ab.astype(np.float32)),
                                              rgb))

    for i, (_, rgb) in enumerate(images):
        lab = rgb_to_lab(rgb)
        l_star = np.ascontiguousarray(lab[..., 0])
        hints = sample_hints(lab, 1, seed=i)  # as `evaluate` draws them
        free = colorize_l(model, l_star).ab
        res = colorize_l(model, l_star, hints)
        p = hints.points[0]
        win = np.s_[p.y - 1:p.y + 2, p.x - 1:p.x + 2]
        r0 = lab[win][..., 1:].reshape(-1, 2).mean(0) - free[win].reshape(-1, 2).mean(0)
        add("none", free, l_star, rgb)
        add("pipeline", res.ab, l_star, rgb)
        for b in BETAS:
            add(f"shift {b}", free + b * r0, l_star, rgb)
            add(f"pipeline+shift {b}", res.ab + b * (1 - res.influence[..., None]) * r0,
                l_star, rgb)
        for name, spread in (("in", res.influence[..., None] * r0),
                             ("out", (1 - res.influence[..., None]) * r0)):
            share = float(((lab[..., 1:] - res.ab) * spread).sum() / max((spread ** 2).sum(), 1e-9))
            add(f"pipeline+oracle share {name}", res.ab + share * spread, l_star, rgb)
        add("oracle offset", free + (lab[..., 1:] - free).reshape(-1, 2).mean(0), l_star, rgb)
        add("oracle affine", _affine(free, lab[..., 1:]), l_star, rgb)
    print(json.dumps({"n": len(images), **{k: round(float(np.mean(v)), 3)
                                           for k, v in rows.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
