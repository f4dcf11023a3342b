"""Contact sheet of val photos: grey | every bundled model | the default with N hints |
ground truth, one row per photo. Every model runs at its card's working size, as in the app
and in `colorstudio eval`; hints are the eval's (ground-truth 3x3 patches, fixed seed).

`--old-scans` makes faithful stand-ins for genuine old black-and-white photographs instead
(`old_scan`: lower contrast with lifted blacks, soft focus, film grain, dust and a scratch,
vignetting) from the default recipe's dev photos of scene shards (never val, never trained
on), so the models are seen on the kind of input archives hold.

python training/contact_sheet.py [--data ../shared/data/val] [--n 24] [--hints 10]
  -> training/reports/contact_sheet.jpg
python training/contact_sheet.py --old-scans [--n 12] -> training/reports/old_scans.jpg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from colorstudio.core.color import rgb_to_lab
from colorstudio.core.compose import lab_to_rgb_fast, resize
from colorstudio.engine.device import pick_device
from colorstudio.engine.evaluate import load_eval_images, sample_hints
from colorstudio.engine.models import ModelStore
from colorstudio.engine.pipeline import colorize_l

ORDER = ["guided_mobilenet", "guided_unet", "roshana2023_pix2pix", "roshana2023_resnet18_unet",
         "dehghan2023_autoencoder", "mane2021_cnn", "mathur2023_gan", "mahajan2022_cyclegan"]


def old_scan(l_star: np.ndarray, seed: int) -> np.ndarray:
    """L* (H, W) -> the same photo as a worn print scan: contrast squeezed into L* 18-82,
    blurred by one pixel, grain (sigma 3 L*), dust specks, one scratch, darker corners."""
    rng = np.random.default_rng(seed)
    h, w = l_star.shape
    out = 18 + l_star * 0.64
    out = cv2.GaussianBlur(out, (0, 0), 1.0)
    out = out + rng.normal(0, 3.0, out.shape)
    for _ in range(12):
        y, x = rng.integers(0, h), rng.integers(0, w)
        cv2.circle(out, (int(x), int(y)), int(rng.integers(1, 3)), float(rng.uniform(10, 95)), -1)
    x0 = int(rng.integers(w // 5, 4 * w // 5))
    cv2.line(out, (x0, 0), (x0 + int(rng.integers(-w // 8, w // 8)), h - 1), 88.0, 1)
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot((yy - h / 2) / (h / 2), (xx - w / 2) / (w / 2))
    out = out * (1 - 0.18 * np.clip(r - 0.5, 0, None) ** 2)
    return np.clip(out, 0, 100).astype(np.float32)


def dev_scene_images(n: int) -> list[tuple[str, np.ndarray]]:
    sys.path.insert(0, str(Path(__file__).parent))
    from dev_eval import dev_images

    return dev_images(Path("training/recipes/guided_mobilenet.toml"), n, "scenes-384px")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data/val"))
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--hints", type=int, default=10, help="hints for the default's extra column")
    ap.add_argument("--thumb", type=int, default=128)
    ap.add_argument("--old-scans", action="store_true",
                    help="worn-print stand-ins of dev scene photos instead of val")
    args = ap.parse_args()
    store = ModelStore()
    ids = [m for m in ORDER if m in store.cards() and store.cards()[m].has_weights]
    models = [store.load(m, pick_device("cpu")) for m in ids]
    images = dev_scene_images(200) if args.old_scans else load_eval_images(args.data)
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
        if args.old_scans:
            l_star = old_scan(l_star, int(idx))
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
    out = Path(f"training/reports/{'old_scans' if args.old_scans else 'contact_sheet'}.jpg")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, quality=88)
    print(out)


if __name__ == "__main__":
    main()
