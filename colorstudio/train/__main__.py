"""`python -m colorstudio.train RECIPE.toml [--export]`: run a recipe's stages in order.

Each stage starts from the previous stage's weights; a stage whose weights already exist is
skipped (so an interrupted recipe resumes where it stopped). `--export` then writes the
bundled weights and card through `colorstudio.train.export`.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

from .config import load_recipe
from .fit import TrainEvent, fit


def _log(event: TrainEvent) -> None:
    if event.kind in ("step", "start", "done", "cancelled", "checkpoint"):
        losses = " ".join(f"{k}={v:.4f}" for k, v in event.losses.items())
        print(f"[{time.strftime('%H:%M:%S')}] {event.kind} {event.step}/{event.total} "
              f"{losses} {event.images_per_s:.0f} img/s eta {event.eta_s / 60:.1f} min "
              f"{event.message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m colorstudio.train")
    ap.add_argument("recipe", type=Path)
    ap.add_argument("--export", action="store_true", help="export weights + card when done")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    model, stages = load_recipe(args.recipe)
    prev = ""
    total = 0.0
    for i, cfg in enumerate(stages):
        if prev and not cfg.init:
            cfg = dataclasses.replace(cfg, init=prev)
        if args.threads:
            cfg = dataclasses.replace(cfg, threads=args.threads)
        done = Path(cfg.out) / "weights.safetensors"
        if done.is_file():
            print(f"stage {i}: {done} exists, skipped", flush=True)
        else:
            print(f"stage {i}: {cfg.arch} {cfg.size}px -> {cfg.out}", flush=True)
            res = fit(cfg, on_event=_log)
            total += res.seconds
            (Path(cfg.out) / "seconds.txt").write_text(f"{res.seconds:.0f}\n")
        prev = str(done)
    if args.export:
        from .export import export_recipe

        export_recipe(args.recipe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
