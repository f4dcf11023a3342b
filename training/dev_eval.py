"""Measure decoding choices of a trained model on the DEV split (held out of the training
shards by the recipe's fixed seed; never trained on, and not the val set).

python training/dev_eval.py RECIPE.toml [--weights W] [--set key=value ...] [--hints N] [--n 300]
                           [--source photos-320px] [--working-size S] [--dev-recipe R.toml]
                           [--no-flip]
`--set` overrides architecture config keys at inference (e.g. decode=class temperature=0.5).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import torch

from colorstudio.core.cards import card_from_dict
from colorstudio.engine.evaluate import evaluate
from colorstudio.engine.models import LoadedModel
from colorstudio.engine.weights import load_weights
from colorstudio.nets import build
from colorstudio.train.config import load_recipe
from colorstudio.train.data import ImageCache, list_items, split_items


DEV_RECIPE = Path("training/recipes/guided_unet.toml")  # owns the dev split (holdout)


def dev_images(recipe: Path, n: int, source: str = "") -> list[tuple[str, np.ndarray]]:
    _, stages = load_recipe(recipe)
    if not any(s.holdout for s in stages):
        _, stages = load_recipe(DEV_RECIPE)
    st = next(s for s in stages if s.holdout)
    _, held = split_items(list_items(st.data), st.holdout, st.seed)
    wanted = source.split(",")  # shard names, or the photos' source folders (e.g. camvid)
    held = [i for i in held
            if any(w in Path(i.path).name or i.member.startswith(f"{w}/") for w in wanted)]
    cache = ImageCache.build(held[:n], 256)
    return [(str(i), img.astype(np.float32) / 255) for i, img in enumerate(cache.images)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("recipe", type=Path)
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--set", nargs="*", default=[])
    ap.add_argument("--hints", type=int, nargs="*", default=[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--source", default="", help="only held-out photos of shards whose name "
                    "contains this (e.g. scenes-384px), or of these source folders, "
                    "comma-separated (e.g. sun-scenes,camvid,photo-style,bsds500)")
    ap.add_argument("--working-size", type=int, help="override the card's working size")
    ap.add_argument("--dev-recipe", type=Path, help="take the dev split from this recipe "
                    "(to compare models of different recipes on the same photos)")
    ap.add_argument("--no-flip", action="store_true",
                    help="without the mirror averaging of automatic nets (ColorNet.flip_average)")
    args = ap.parse_args()
    if args.no_flip:
        from colorstudio.nets.base import ColorNet

        ColorNet.flip_average = False
    meta, stages = load_recipe(args.recipe)
    cfg = dict(stages[-1].config)
    for kv in args.set:
        k, v = kv.split("=", 1)
        cfg[k] = tomllib.loads(f"v = {v}")["v"] if not v.isalpha() else v
    weights = args.weights or Path(stages[-1].out) / "weights.safetensors"
    net = build(stages[-1].arch, cfg)
    if weights.suffix == ".pt":
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True)["net"])
    else:
        load_weights(net, weights, strict=False)
    net.eval()
    if args.working_size:
        meta = {**meta, "working_size": args.working_size}
    card = card_from_dict({**meta, "version": "dev", "arch": stages[-1].arch, "config": cfg,
                           "normalisation": stages[-1].normalisation})
    model = LoadedModel(card, net, torch.device("cpu"))
    images = dev_images(args.dev_recipe or args.recipe, args.n, args.source)
    for h in args.hints:
        r = evaluate(model, Path("dev"), h, images=images)
        print(json.dumps({"set": args.set, "source": args.source, "size": card.working_size,
                          "hints": h, "psnr": r.psnr, "grey_psnr": r.grey_psnr,
                          "colourfulness": r.colourfulness, "truth_colourfulness":
                          r.truth_colourfulness, "ciede2000": r.ciede2000, "n": r.images}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
