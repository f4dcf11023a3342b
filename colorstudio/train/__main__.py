"""`python -m colorstudio.train RECIPE.toml [--export]`: run a recipe's stages in order.

Each stage starts from the previous stage's weights; a stage whose weights already exist is
skipped (so an interrupted recipe resumes where it stopped). `--export` then writes the
bundled weights and card through `colorstudio.train.export`.

Data-parallel: `torchrun --nproc-per-node N -m colorstudio.train RECIPE.toml` (one process per
GPU, or N CPU processes with gloo). The process group is set up once for all the stages; each
stage's `batch` is the global batch; only rank 0 prints, writes (checkpoints, configs,
previews, weights, seconds.txt) and exports. See docs/CLUSTER.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import time
from pathlib import Path

from ..engine.device import pick_device
from .config import load_recipe
from .fit import TrainEvent, check_parallel, fit, init_distributed


def _log(event: TrainEvent) -> None:
    if event.kind in ("step", "start", "done", "cancelled", "checkpoint"):
        losses = " ".join(f"{k}={v:.6g}" for k, v in event.losses.items())
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
    _model, stages = load_recipe(args.recipe)
    if not stages:
        print(f"{args.recipe}: no [[stage]] in the recipe", file=sys.stderr)
        return 2
    world = int(os.environ.get("WORLD_SIZE", "1"))
    try:
        for cfg in stages:
            check_parallel(cfg, world)
    except ValueError as exc:
        print(f"{args.recipe}: {exc}", file=sys.stderr)
        return 2
    rank, _world, owned = init_distributed(pick_device(stages[0].device))
    main_rank = rank == 0
    say = print if main_rank else (lambda *a, **k: None)
    prev = ""
    total = 0.0
    try:
        for i, cfg in enumerate(stages):
            if prev and not cfg.init:
                cfg = dataclasses.replace(cfg, init=prev)
            if args.threads:
                cfg = dataclasses.replace(cfg, threads=args.threads)
            done = Path(cfg.out) / "weights.safetensors"
            if done.is_file():  # the same answer on every rank: fit ends with a barrier
                say(f"stage {i}: {done} exists, skipped", flush=True)
            else:
                say(f"stage {i}: {cfg.arch} {cfg.size}px -> {cfg.out}", flush=True)
                try:
                    res = fit(cfg, on_event=_log)
                except ValueError as exc:  # no usable photos, a bad option: one line
                    print(f"stage {i}: {exc}", file=sys.stderr)
                    return 2
                total += res.seconds
                if main_rank:
                    (Path(cfg.out) / "seconds.txt").write_text(f"{res.seconds:.0f}\n")
            prev = str(done)
        if args.export and main_rank:
            from .export import export_recipe

            export_recipe(args.recipe)
    finally:
        if owned:
            import torch.distributed as dist

            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
