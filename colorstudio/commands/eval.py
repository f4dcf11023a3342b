"""`colorstudio eval --data DIR [--model ID] [--hints N] [--spread S] [--json]`"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("eval", help="measure a model on a folder of colour photos")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--model")
    p.add_argument("--hints", type=int, default=0, help="ground-truth hint points per image")
    p.add_argument("--strength", type=float, default=0.5,
                   help="colour strength, 0 (cautious) to 1 (vivid); 0.5 is the model's own")
    p.add_argument("--spread", type=float, default=0.5,
                   help="how far the hints reach, 0 (local) to 1 (wide); 0.5 is the default")
    p.add_argument("--reference", choices=["shifted-truth"],
                   help="give each photo a reference: a shifted, cropped copy of its original")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    return p


def run(args: argparse.Namespace) -> int:
    from ..engine.batch import Colorizer
    from ..engine.evaluate import evaluate
    from ..engine.models import ModelStore

    if not args.data.is_dir():
        print(f"colorstudio: error: {args.data} is not a folder", file=sys.stderr)
        return 2
    if not 0.0 <= args.strength <= 1.0:
        print("colorstudio: error: --strength must be between 0 and 1", file=sys.stderr)
        return 2
    if not 0.0 <= args.spread <= 1.0:
        print("colorstudio: error: --spread must be between 0 and 1", file=sys.stderr)
        return 2
    col = Colorizer(ModelStore(args.models_dir), args.device)
    rep = evaluate(col.model(args.model), args.data, args.hints, strength=args.strength,
                   reference=args.reference or "", spread=args.spread)
    if args.json:
        print(json.dumps(rep.as_dict(), indent=2))
    else:
        extra = (f", strength {rep.strength:.2f}" if rep.strength != 0.5 else "") + (
            f", spread {rep.spread:.2f}" if rep.spread != 0.5 else "") + (
            f", reference: {rep.reference}" if rep.reference else "")
        print(f"model {rep.model} on {rep.images} images of {rep.dataset}, {rep.hints} hints"
              f"{extra}")
        # The truth's colourfulness beside the model's: the yardstick, measured in this run
        # on these photos (a fixed number in a text would not fit another folder).
        print(f"  PSNR {rep.psnr:.2f} dB   SSIM {rep.ssim:.4f}   CIEDE2000 {rep.ciede2000:.2f}   "
              f"colourfulness {rep.colourfulness:.1f} (ground truth "
              f"{rep.truth_colourfulness:.1f})")
        print(f"  grey baseline: PSNR {rep.grey_psnr:.2f} dB   SSIM {rep.grey_ssim:.4f}")
        print(f"  ({rep.seconds:.1f} s; protocol: {rep.protocol})")
    return 0
