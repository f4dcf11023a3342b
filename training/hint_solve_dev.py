"""Measure settings of the hint solve on the DEV split with ground-truth hints (never val).

python training/hint_solve_dev.py N [--source scenes-384px] SPEC...
SPEC: `old:SIZE` (the solve before issue 14: the correction alone, at SIZE px),
`new:REACH:FILL` (`engine.pipeline.REACH_DECAY`, `FILL_PRIOR`), or
`v3:REACH:FILL:SIGMA_REACH:SIGMA_FILL[:SMOOTH_REACH]` (the same with the two solves' lightness
scales, and the reach's L* blur, without the cap on raw steps); variants of the bundled solve
(with that cap): `rel` (the fill in chromaticity), `nr:SIGMA:SMOOTH` (the network's response
within a narrower reach), `amp:ALPHA` (that response scaled), `fs:SMOOTH` (the fill's L*
blurred), `cn:TARGET:CAP` (the reach on the photo's L* stretched so that its 2-98 % range is
TARGET, at most CAP times); `net` (the network alone), `res:DECAY` (the hints' correction of
the hint-free prediction alone). `--weights W`: the default's card with other weights.
`--counts 1,10,100`: the hint counts. `--old-scans`: the photos as worn prints
(`contact_sheet.old_scan`), colours kept.
Prints one JSON line per SPEC with the dev PSNR at each count (and 0 for `old:128`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import colorstudio.engine.pipeline as pl
from colorstudio.core.compose import HintSolve, fit_chroma_to_gamut, guided_upsample
from colorstudio.engine.evaluate import evaluate
from colorstudio.engine.models import ModelStore
from colorstudio.engine.weights import load_weights

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dev_eval import dev_images  # noqa: E402

NEW = pl._follow_hints


def old_follow(size: int):  # noqa: ANN201 - the pre-issue-14 solve, for comparison
    def follow(ab_low, free_low, l_low, l_star, hints, under, solve_size):  # noqa: ANN001, ANN202
        l_mid, hint_ab, mask, _ = pl.solve_grid(l_star, hints, under, size)
        ab_mid = guided_upsample(ab_low, l_low, l_mid, radius=pl._radius(l_low))
        ab_mid = HintSolve(l_mid, mask).correct(ab_mid, hint_ab)
        return fit_chroma_to_gamut(l_mid, ab_mid), l_mid, None
    return follow


def residual_follow(decay: float):  # noqa: ANN201 - the hints' correction of the free prediction
    def follow(ab_low, free_low, l_low, l_star, hints, under, solve_size):  # noqa: ANN001, ANN202
        l_mid, hint_ab, mask, per_pixel = pl.solve_grid(l_star, hints, under, solve_size)
        free = guided_upsample(free_low, l_low, l_mid, radius=pl._radius(l_low))
        solve = HintSolve(l_mid, mask, decay=decay * per_pixel)
        ab_mid = solve.correct(free, hint_ab)
        return fit_chroma_to_gamut(l_mid, ab_mid), l_mid, solve.influence()
    return follow


def v2_follow(reach_decay: float, fill: float, sigma_reach: float, prior: str,  # noqa: ANN201
              sigma_fill: float = 2.0, smooth_reach: float = 0.0, relit: bool = False,
              net_reach: tuple[float, float] | None = None, amp: float = 1.0,
              smooth_fill: float = 0.0, contrast: tuple[float, float] | None = None,
              step: float = 0.0):
    """The local solve with the reach's own affinity scale, and the fill's prior either the
    reach-confined guided prediction (`local`, as the bundled solve) or `guided` itself;
    `net`: the guided prediction alone."""
    def follow(ab_low, free_low, l_low, l_star, hints, under, solve_size):  # noqa: ANN001, ANN202
        l_mid, hint_ab, mask, per_pixel = pl.solve_grid(l_star, hints, under, solve_size)
        radius = pl._radius(l_low)
        free = guided_upsample(free_low, l_low, l_mid, radius=radius)
        guided = guided_upsample(ab_low, l_low, l_mid, radius=radius)
        if prior == "net":  # the network's guided prediction alone: no solve
            return fit_chroma_to_gamut(l_mid, guided), l_mid, None
        l_reach = l_mid
        if contrast is not None:  # the reach sees the photo's L* stretched to TARGET (<= CAP x)
            lo, hi = np.percentile(l_mid, (2, 98))
            l_reach = l_mid * float(np.clip(contrast[0] / max(hi - lo, 1e-3), 1.0, contrast[1]))
        reach = HintSolve(l_reach, mask, sigma=sigma_reach, decay=reach_decay * per_pixel,
                          weight=1e4, smooth=smooth_reach, step=step).influence()[..., None]
        near = reach
        if net_reach is not None:  # the network's response confined to a narrower reach
            near = HintSolve(l_mid, mask, sigma=net_reach[0], decay=reach_decay * per_pixel,
                             weight=1e4, smooth=net_reach[1]).influence()[..., None]
        local = free + amp * near * (guided - free)
        # relit: the fill spreads chromaticity, a*b* / (L* + 16), constant on a surface of one
        # colour under brighter or dimmer light (cube-root regime of CIELAB)
        k = (l_mid[..., None] + 16.0) if relit else 1.0
        filled = HintSolve(l_mid, mask, sigma=sigma_fill, decay=fill * per_pixel,
                           smooth=smooth_fill).solve(
            hint_ab / k, (local if prior == "local" else guided) / k) * k
        ab_mid = free + reach * (filled - free)
        return fit_chroma_to_gamut(l_mid, ab_mid), l_mid, reach[..., 0]
    return follow


def bundled(**variant):  # noqa: ANN003, ANN201 - the bundled solve with one thing changed
    return v2_follow(pl.REACH_DECAY, pl.FILL_PRIOR, 2.0, "local", pl.FILL_SIGMA,
                     pl.REACH_SMOOTH, step=pl.REACH_STEP, **variant)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("specs", nargs="+")
    ap.add_argument("--source", default="")
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--counts", default="1,10,100", help="hint counts to measure")
    ap.add_argument("--old-scans", action="store_true", help="the photos' L* as worn prints "
                    "(contact_sheet.old_scan), their colours kept")
    args = ap.parse_args()
    model = ModelStore().load(None, torch.device("cpu"))
    if args.weights:
        load_weights(model.net, args.weights)
        model.net.eval()
    images = dev_images(Path("training/recipes/guided_mobilenet.toml"), args.n, args.source)
    if args.old_scans:
        from contact_sheet import old_scan

        from colorstudio.core.color import lab_to_rgb, rgb_to_lab

        def worn(i: int, rgb: np.ndarray) -> np.ndarray:
            lab = rgb_to_lab(rgb)
            lab[..., 0] = old_scan(np.ascontiguousarray(lab[..., 0]), i)
            return np.clip(lab_to_rgb(lab), 0, 1).astype(np.float32)

        images = [(name, worn(i, rgb)) for i, (name, rgb) in enumerate(images)]
    counts = [int(c) for c in args.counts.split(",")]
    for spec in args.specs:
        name, *vals = spec.split(":")
        if name == "old":
            pl._follow_hints = old_follow(int(vals[0]))
        elif name == "v2":
            pl._follow_hints = v2_follow(float(vals[0]), float(vals[1]), float(vals[2]), vals[3])
        elif name == "v3":  # REACH:FILL:SIGMA_REACH:SIGMA_FILL[:SMOOTH_REACH], prior `local`
            pl._follow_hints = v2_follow(float(vals[0]), float(vals[1]), float(vals[2]), "local",
                                         float(vals[3]), float(vals[4]) if len(vals) > 4 else 0)
        elif name == "rel":  # the bundled solve, the fill in chromaticity
            pl._follow_hints = bundled(relit=True)
        elif name == "nr":  # the bundled solve, the network's response within SIGMA:SMOOTH
            pl._follow_hints = bundled(net_reach=(float(vals[0]), float(vals[1])))
        elif name == "amp":  # the bundled solve, the network's response scaled by ALPHA
            pl._follow_hints = bundled(amp=float(vals[0]))
        elif name == "fs":  # the bundled solve, the fill's L* blurred by SMOOTH px
            pl._follow_hints = bundled(smooth_fill=float(vals[0]))
        elif name == "cn":  # the bundled solve, the reach on L* stretched to TARGET:CAP
            pl._follow_hints = bundled(contrast=(float(vals[0]), float(vals[1])))
        elif name == "net":  # the network's guided prediction alone, no solve
            pl._follow_hints = v2_follow(1e-5, 1e-4, 2.0, "net")
        elif name == "res":
            pl._follow_hints = residual_follow(float(vals[0]))
        else:
            pl._follow_hints = NEW
            pl.REACH_DECAY, pl.FILL_PRIOR = float(vals[0]), float(vals[1])
        row: dict = {"spec": spec}
        t = time.time()
        for h in [0, *counts] if spec == "old:128" else counts:
            row[h] = evaluate(model, Path("dev"), h, images=images).psnr
        row["seconds"] = round(time.time() - t)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
