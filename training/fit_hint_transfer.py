"""Fit the hint solve's transfer coefficients (`colorstudio.core.transfer`) for a hint model.

python training/fit_hint_transfer.py training/recipes/guided_mobilenet.toml [--photos 400]
       [--write]

On the TRAINING side of the recipe's dev split (never the dev photos, never val): photos of
the photo and scene shards (Caltech-101's objects on white left out), each with 1, 3, 10, 30
and 100 ground-truth hints drawn as `colorstudio eval` draws them (other seeds). Per photo
and count, the local solve's a*b* and the transfer basis are taken on 4,096 random pixels of
its 256-px grid and added to a weighted least-squares fit (`TransferFit`). Prints the
coefficients as JSON; `--write` puts them into the recipe's [model] table as
`hint_transfer`, from where `python -m colorstudio.train.export` copies them into the card
(and measures val with them).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

import colorstudio.engine.pipeline as pl
from colorstudio.core.color import rgb_to_lab
from colorstudio.core.transfer import N_COEFFS, TransferFit
from colorstudio.engine.evaluate import EVAL_SIZE, sample_hints
from colorstudio.engine.models import ModelStore
from colorstudio.train.config import load_recipe
from colorstudio.train.data import ImageCache, list_items, split_items

COUNTS = (1, 3, 10, 30, 100)
PIXELS = 4096


def training_photos(recipe: Path, n: int, seed: int = 123) -> list[np.ndarray]:
    """`n` photos of the recipe's training side (its dev split's complement), Caltech left
    out, in a fixed random order, centre-cropped and sized as `colorstudio eval` sizes them."""
    _, stages = load_recipe(recipe)
    st = next(s for s in stages if s.holdout)
    train, _ = split_items(list_items(st.data), st.holdout, st.seed)
    order = np.random.default_rng(seed).permutation(len(train))
    picked = [train[j] for j in order if "caltech" not in Path(train[j].path).name][:n]
    return [im.astype(np.float32) / 255 for im in ImageCache.build(picked, EVAL_SIZE).images]


def fit(model_id: str, photos: list[np.ndarray], log: bool = True) -> TransferFit:
    store = ModelStore()
    model = store.load(model_id, torch.device("cpu"))
    # zero coefficients: the basis is computed and the local solve's colours are kept
    model = dataclasses.replace(model, card=dataclasses.replace(
        model.card, hint_transfer=(0.0,) * N_COEFFS))
    seen: dict[str, np.ndarray] = {}
    real_apply = pl.apply_transfer

    def spy(ab: np.ndarray, basis: np.ndarray, coeffs: tuple[float, ...]) -> np.ndarray:
        seen.update(ab=ab, basis=basis)
        return real_apply(ab, basis, coeffs)

    pl.apply_transfer = spy
    out, t0 = TransferFit(), time.time()
    try:
        for i, rgb in enumerate(photos):
            lab = rgb_to_lab(rgb)
            l_star = np.ascontiguousarray(lab[..., 0])
            for n in COUNTS:
                pl.colorize_l(model, l_star, sample_hints(lab, n, seed=10_000 + i))
                if seen["ab"].shape[:2] != l_star.shape:
                    raise RuntimeError("the solve's grid is not the photo's")
                pick = np.random.default_rng(i * 1000 + n).choice(l_star.size, PIXELS,
                                                                  replace=False)
                basis = seen["basis"].reshape(-1, 2, N_COEFFS)[pick]
                residual = (lab[..., 1:] - seen["ab"]).reshape(-1, 2)[pick]
                out.add(basis, residual)
            if log and i % 50 == 0:
                print(f"{i + 1}/{len(photos)} photos, {time.time() - t0:.0f} s", flush=True)
    finally:
        pl.apply_transfer = real_apply
    return out


def write_recipe(recipe: Path, coeffs: tuple[float, ...]) -> None:
    """Replace the recipe's `hint_transfer = [...]` line (in its [model] table)."""
    text = recipe.read_text(encoding="utf-8")
    line = "hint_transfer = [" + ", ".join(f"{c:.5g}" for c in coeffs) + "]"
    text, n = re.subn(r"(?m)^hint_transfer = \[[^\]]*\]$", line, text)
    if n != 1:
        raise SystemExit(f"{recipe}: needs one 'hint_transfer = [...]' line in [model]")
    recipe.write_text(text, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("recipe", type=Path)
    ap.add_argument("--photos", type=int, default=400)
    ap.add_argument("--ridge", type=float, default=1e-3)
    ap.add_argument("--write", action="store_true", help="write the fit into the recipe")
    args = ap.parse_args()
    meta, _ = load_recipe(args.recipe)
    result = fit(meta["id"], training_photos(args.recipe, args.photos))
    coeffs = result.solve(args.ridge)
    print(json.dumps({"photos": result.photos // len(COUNTS), "hint_transfer": coeffs}))
    if args.write:
        write_recipe(args.recipe, coeffs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
