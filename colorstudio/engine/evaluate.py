"""`colorstudio eval`: the project's own metrics on a folder of colour photos.

Protocol (the one every model card quotes): each photo is centre-cropped to a square and
resized to 256x256 (area); the model sees its L* at the card's working size (as users get it)
and the prediction is joined with the ground-truth L*; RGB PSNR, SSIM, CIEDE2000 and
Hasler-Suesstrunk colourfulness are averaged over photos. The grey baseline (ab = 0) is
measured in the same run. With `hints=N`, N ground-truth hint points (3x3 patches carrying
the patch's mean colour) are sampled per photo with a fixed seed. `strength` is the colour
strength (0.5: the card's own decoding). `reference="shifted-truth"` gives each photo a
reference photo: a shifted, cropped copy of its own colour original (the best case of an
archive's colour photo of the same scene), matched as the app matches references.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..core.color import lab_to_rgb, rgb_to_lab
from ..core.compose import lab_to_rgb_fast, resize
from ..core.errors import ColorStudioError
from ..core.hints import DEFAULT_SPREAD, DEFAULT_STRENGTH, HintPoint, HintSet
from ..core.imageio import READ_FORMATS
from ..core.metrics import ciede2000, colourfulness, psnr, ssim
from ..core.reference import reference_hints
from .models import LoadedModel
from .pipeline import colorize_l

EVAL_SIZE = 256
PROTOCOL = ("centre square crop, 256x256 area resize, ground-truth L*, card's working size, "
            "RGB PSNR/SSIM/CIEDE2000/colourfulness averaged over images")


@dataclass
class EvalReport:
    model: str
    dataset: str
    images: int
    hints: int
    psnr: float
    ssim: float
    ciede2000: float
    colourfulness: float
    grey_psnr: float
    grey_ssim: float
    truth_colourfulness: float
    seconds: float
    protocol: str = PROTOCOL
    strength: float = DEFAULT_STRENGTH
    reference: str = ""
    spread: float = DEFAULT_SPREAD  # the hints' (`core.hints.reach_scale`)

    def as_dict(self) -> dict:
        return asdict(self)


def load_eval_images(data: Path) -> list[tuple[str, np.ndarray]]:
    """Centre-cropped 256x256 sRGB float images of a folder (sorted, recursive).

    Unreadable files are skipped, and so are files over Pillow's decompression-bomb limit
    (`Image.MAX_IMAGE_PIXELS`, which stays on for eval)."""
    from PIL import Image

    out = []
    for f in sorted(p for p in Path(data).rglob("*") if p.suffix.lower() in READ_FORMATS):
        try:
            with Image.open(f) as src:
                im = src.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        a = np.asarray(im, np.float32) / 255
        h, w = a.shape[:2]
        s = min(h, w)
        a = a[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
        out.append((f.name, np.clip(resize(a, EVAL_SIZE, EVAL_SIZE), 0, 1)))
    return out


def sample_hints(lab: np.ndarray, n: int, seed: int) -> HintSet:
    """N ground-truth hints: 3x3 patches at random pixels, each with the patch's mean colour."""
    rng = np.random.default_rng(seed)
    h, w = lab.shape[:2]
    pts = []
    for _ in range(n):
        y, x = int(rng.integers(1, h - 1)), int(rng.integers(1, w - 1))
        patch = lab[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(0)
        rgb = lab_to_rgb(patch[None])[0]
        pts.append(HintPoint(x, y, 1, tuple(int(round(c * 255)) for c in rgb)))
    return HintSet(points=tuple(pts))


REFERENCES = ("shifted-truth",)


def shifted_copy(rgb: np.ndarray) -> np.ndarray:
    """The photo moved by (24, 16) px and cropped to 80 % of its size: a stand-in for an
    archive's colour photo of the same scene, taken from a slightly different place."""
    h, w = rgb.shape[:2]
    return np.ascontiguousarray(rgb[16:16 + int(0.8 * h), 24:24 + int(0.8 * w)])


def evaluate(model: LoadedModel, data: Path, hints: int = 0,
             progress: Callable[[int, int], None] | None = None,
             images: list[tuple[str, np.ndarray]] | None = None,
             strength: float = DEFAULT_STRENGTH, reference: str = "",
             spread: float = DEFAULT_SPREAD) -> EvalReport:
    t0 = time.perf_counter()
    images = images if images is not None else load_eval_images(data)
    if not images:
        raise ColorStudioError(f"{data}: no readable images to evaluate on")
    if reference and reference not in REFERENCES:
        raise ColorStudioError(f"unknown reference {reference!r}; one of {', '.join(REFERENCES)}")
    rows = []
    for i, (_, rgb) in enumerate(images):
        lab = rgb_to_lab(rgb)
        l_star = np.ascontiguousarray(lab[..., 0])
        hs = (replace(sample_hints(lab, hints, seed=i), spread=spread)
              if hints and model.card.hints else None)
        under = (reference_hints(l_star, shifted_copy(rgb))
                 if reference and model.card.hints else None)
        ab = colorize_l(model, l_star, hs, strength=strength, under=under).ab
        pred = lab_to_rgb_fast(l_star, ab)
        grey = lab_to_rgb_fast(l_star, np.zeros_like(ab))
        rows.append((psnr(pred, rgb), ssim(pred, rgb), ciede2000(pred, rgb),
                     colourfulness(pred), psnr(grey, rgb), ssim(grey, rgb), colourfulness(rgb)))
        if progress:
            progress(i + 1, len(images))
    m = np.mean(np.array(rows), axis=0)
    return EvalReport(model.card.id, str(data), len(images), hints if model.card.hints else 0,
                      *(round(float(v), 3) for v in m), round(time.perf_counter() - t0, 1),
                      strength=strength, reference=reference if model.card.hints else "",
                      spread=spread if hints and model.card.hints else DEFAULT_SPREAD)
