"""Training data: zip shards and plain folders of colour photos, decoded once into RAM.

`ImageCache.build(sources, size)` decodes every readable colour image, resizes its shorter
side to `size` and centre-crops a square, and keeps them as one uint8 array (N, S, S, 3),
saved under `cache/` so later runs start at once. Near-grey images are skipped and counted.
`augment()` does random crops, flips, small rotations and zoom on a whole batch at once with
one `affine_grid` / `grid_sample` (cheap on CPU, free on GPU).
"""

from __future__ import annotations

import glob
import hashlib
import io
import logging
import math
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..core.color import rgb_to_lab
from ..core.imageio import atomic_write

log = logging.getLogger(__name__)

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"}
GREY_CHROMA = 4.0  # mean |ab| below which a photo counts as grey (sepia scans score ~5-8)


@dataclass(frozen=True)
class Item:
    """One photo: a file, or a member of a zip shard."""

    path: str
    member: str = ""

    def read(self) -> bytes:
        if self.member:
            with zipfile.ZipFile(self.path) as z:
                return z.read(self.member)
        return Path(self.path).read_bytes()


def list_items(sources: list[str]) -> list[Item]:
    """Expand globs, folders (recursive) and zip shards into a sorted list of items."""
    items: list[Item] = []
    for src in sources:
        paths = sorted(glob.glob(src)) or [src]
        for p in map(Path, paths):
            if p.is_dir():
                items += [Item(str(f)) for f in sorted(p.rglob("*"))
                          if f.suffix.lower() in IMAGE_EXTS and f.is_file()]
            elif p.suffix.lower() == ".zip" and p.is_file():
                with zipfile.ZipFile(p) as z:
                    items += [Item(str(p), n) for n in sorted(z.namelist())
                              if Path(n).suffix.lower() in IMAGE_EXTS]
            elif p.suffix.lower() in IMAGE_EXTS and p.is_file():
                items.append(Item(str(p)))
    return items


def decode_square(data: bytes, size: int) -> np.ndarray | None:
    """JPEG/PNG/... bytes -> (size, size, 3) uint8 sRGB (shorter side resized, centre crop)."""
    try:
        im = Image.open(io.BytesIO(data))
        im.draft("RGB", (size, size))
        im = im.convert("RGB")
    except Exception:  # noqa: BLE001 - any undecodable file is skipped and counted
        return None
    w, h = im.size
    s = size / min(w, h)
    im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
    w, h = im.size
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(im.crop((left, top, left + size, top + size)), dtype=np.uint8)


def mean_chroma(rgb: np.ndarray) -> float:
    small = rgb[:: max(1, rgb.shape[0] // 32), :: max(1, rgb.shape[1] // 32)]
    lab = rgb_to_lab(small.astype(np.float32) / 255)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


@dataclass
class ScanReport:
    usable: int = 0
    grey: int = 0
    unreadable: int = 0


class ImageCache:
    def __init__(self, images: np.ndarray, report: ScanReport, complete: bool = True) -> None:
        self.images = images
        self.report = report
        self.complete = complete  # False when the scan was cancelled part-way

    def __len__(self) -> int:
        return len(self.images)

    @classmethod
    def build(
        cls, items: list[Item], size: int, cache_dir: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None, keep_grey: bool = False,
    ) -> ImageCache:
        """`keep_grey` keeps near-grey photos (the grey domain of unpaired training)."""
        key = hashlib.sha256(f"{size}|{'grey|' if keep_grey else ''}".encode() + "\n".join(
            f"{i.path}|{i.member}" for i in items).encode()).hexdigest()[:16]
        cached = cache_dir / f"images-{size}-{key}.npz" if cache_dir else None
        if cached and cached.is_file():
            z = np.load(cached)
            return cls(z["images"], ScanReport(*map(int, z["report"])))
        report = ScanReport()
        out = np.empty((len(items), size, size, 3), np.uint8)
        zips: dict[str, zipfile.ZipFile] = {}
        complete = True
        for idx, item in enumerate(items):
            if cancel and cancel():
                complete = False
                break
            try:
                if item.member:
                    z = (zips.get(item.path)
                         or zips.setdefault(item.path, zipfile.ZipFile(item.path)))
                    data = z.read(item.member)
                else:
                    data = item.read()
            except (OSError, KeyError, zipfile.BadZipFile):
                data = b""
            img = decode_square(data, size) if data else None
            if img is None:
                report.unreadable += 1
            elif not keep_grey and mean_chroma(img) < GREY_CHROMA:
                report.grey += 1
            else:
                out[report.usable] = img
                report.usable += 1
            if progress and idx % 256 == 0:
                progress(idx, len(items))
        for z in zips.values():
            z.close()
        images = out[: report.usable].copy()
        if cached and complete:  # a cancelled scan must not pass for the whole folder later
            cached.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(cached, lambda tmp: np.savez(
                tmp, images=images,
                report=np.array([report.usable, report.grey, report.unreadable])))
        return cls(images, report, complete)

    def batches(self, batch: int, size: int, rng: np.random.Generator, device: torch.device,
                rotate: float = 10.0, zoom: float = 0.25) -> Iterator[torch.Tensor]:
        """Endless random batches of augmented RGB in [0, 1], (B, 3, size, size)."""
        n = len(self.images)
        while True:
            idx = rng.integers(0, n, batch)
            x = torch.from_numpy(self.images[np.sort(idx)]).to(device)
            x = x.permute(0, 3, 1, 2).float().div_(255)
            yield augment(x, size, rng, rotate, zoom)


def augment(x: torch.Tensor, size: int, rng: np.random.Generator, rotate: float = 10.0,
            zoom: float = 0.25) -> torch.Tensor:
    """Random crop (size/S of the side, times a zoom in [1, 1+zoom]), flip, rotation (degrees)."""
    b, _, s, _ = x.shape
    angle = np.deg2rad(rng.uniform(-rotate, rotate, b))
    flip = np.where(rng.random(b) < 0.5, -1.0, 1.0)
    # Fraction of the side the crop covers; a rotated crop must still fit inside the image.
    spread = np.abs(np.cos(angle)) + np.abs(np.sin(angle))
    scale = np.minimum((size / s) / rng.uniform(1.0, 1.0 + zoom, b), 1.0 / spread)
    room = 1.0 - scale * spread
    tx, ty = (rng.uniform(-1, 1, b) * room, rng.uniform(-1, 1, b) * room)
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    theta = np.stack([np.stack([cos * flip, -sin, tx], -1),
                      np.stack([sin * flip, cos, ty], -1)], 1).astype(np.float32)
    grid = F.affine_grid(torch.from_numpy(theta).to(x.device), [b, 3, size, size],
                         align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                         align_corners=False)


def split_items(items: list[Item], holdout: int | float, seed: int = 0
                ) -> tuple[list[Item], list[Item]]:
    """A fixed-seed split into (train, held-out); `holdout` is a count or a fraction."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(items))
    k = holdout if isinstance(holdout, int) else math.ceil(len(items) * holdout)
    k = min(max(k, 0), len(items))
    held = sorted(order[:k].tolist())
    rest = sorted(order[k:].tolist())
    return [items[i] for i in rest], [items[i] for i in held]
