"""Store the rebalancing weights of a guided run in its weights file (`log_class_weight`).

Runs trained before fit() stored them (the first bundled guided_unet) get them recomputed
exactly as fit() computed them: same data split, same seed, same first random draw.
python training/add_class_prior.py training/recipes/guided_unet.toml
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from colorstudio.engine.weights import load_weights, save_weights
from colorstudio.nets import build
from colorstudio.train.config import load_recipe
from colorstudio.train.data import ImageCache, list_items, split_items
from colorstudio.train.fit import _Objective

recipe = Path(sys.argv[1])
_, stages = load_recipe(recipe)
cfg = stages[-1]
weights = Path(cfg.out) / "weights.safetensors"
net = build(cfg.arch, cfg.config)
load_weights(net, weights, strict=False)
train_items, _ = split_items(list_items(cfg.data), cfg.holdout, cfg.seed)
cache = ImageCache.build(train_items, cfg.load_size, Path("cache"))
obj = _Objective(cfg, net, torch.device("cpu"), np.random.default_rng(cfg.seed), cache)
print("log w range", float(net.log_class_weight.min()), float(net.log_class_weight.max()))
save_weights(net.eval(), weights, {"arch": cfg.arch, "note": "log_class_weight added"})
