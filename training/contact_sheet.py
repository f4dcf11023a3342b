"""Contact sheet of val photos: grey | every bundled model | the default with N hints |
ground truth, one row per photo. Every model runs at its card's working size, as in the app
and in `colorstudio eval`; hints are the eval's (ground-truth 3x3 patches, fixed seed).

python training/contact_sheet.py [--data ../shared/data/val] [--n 24] [--hints 10]
  -> training/reports/contact_sheet.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from colorstudio.core.color import rgb_to_lab
from colorstudio.core.compose import lab_to_rgb_fast, resize
from colorstudio.engine.device import pick_device
from colorstudio.engine.evaluate import load_eval_images, sample_hints
from colorstudio.engine.models import ModelStore
from colorstudio.engine.pipeline import colorize_l

ORDER = ["guided_unet", "roshana2023_pix2pix", "roshana2023_resnet18_unet",
         "dehghan2023_autoencoder", "mane2021_cnn", "mathur2023_gan", "mahajan2022_cyclegan"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data/val"))
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--hints", type=int, default=10, help="hints for the default's extra column")
    ap.add_argument("--thumb", type=int, default=128)
    args = ap.parse_args()
    store = ModelStore()
    ids = [m for m in ORDER if m in store.cards() and store.cards()[m].has_weights]
    models = [store.load(m, pick_device("cpu")) for m in ids]
    images = load_eval_images(args.data)
    pick = np.linspace(0, len(images) - 1, args.n).round().astype(int)
    t = args.thumb
    default = next((m for m in models if m.card.hints), None)
    extra = [f"{default.card.id} +{args.hints} hints"] if default and args.hints else []
    cols = ["grey", *ids, *extra, "truth"]
    sheet = Image.new("RGB", (t * len(cols), 14 + t * len(pick)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(cols):
        draw.text((c * t + 2, 1), name[:21], fill="black")
    for r, idx in enumerate(pick):
        rgb = images[idx][1]
        lab = rgb_to_lab(rgb)
        l_star = np.ascontiguousarray(lab[..., 0])
        tiles = [lab_to_rgb_fast(l_star, np.zeros((*l_star.shape, 2), np.float32))]
        for m in models:
            tiles.append(lab_to_rgb_fast(l_star, colorize_l(m, l_star).ab))
        if extra:
            hints = sample_hints(lab, args.hints, int(idx))
            tiles.append(lab_to_rgb_fast(l_star, colorize_l(default, l_star, hints).ab))
        tiles.append(rgb)
        for c, tile in enumerate(tiles):
            im = (np.clip(resize(tile, t, t), 0, 1) * 255).astype(np.uint8)
            sheet.paste(Image.fromarray(im), (c * t, 14 + r * t))
    out = Path("training/reports/contact_sheet.jpg")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, quality=88)
    print(out)


if __name__ == "__main__":
    main()
