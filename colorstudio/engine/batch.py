"""Colourising files: one photo (`colorize_file`) or many (`iter_inputs` + the CLI/GUI loops).

Used by the CLI and the GUI export alike. Originals are never written; outputs are written
atomically; every failure is one clear line in `FileOutcome.error`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..core.compose import lab_to_rgb_fast
from ..core.errors import ColorStudioError, ImageWriteError
from ..core.hints import HintSet, load_hints, sidecar_path
from ..core.imageio import (DEFAULT_MAX_PIXELS, READ_FORMATS, WRITE_FORMATS, LoadedImage,
                            exif_without_orientation, read_image, write_image)
from .device import pick_device
from .models import LoadedModel, ModelStore
from .pipeline import colorize_l

SUFFIX = "_colorized"


@dataclass
class FileOutcome:
    input: Path
    output: Path | None = None
    status: str = "ok"  # ok | failed | skipped
    error: str = ""
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)


def iter_inputs(paths: list[Path]) -> Iterator[tuple[Path, Path]]:
    """Yield (file, root) for files and, recursively, for image files in folders."""
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if (f.is_file() and f.suffix.lower() in READ_FORMATS
                        and not f.stem.endswith(SUFFIX) and not f.name.startswith(".~")):
                    yield f, p
        else:
            yield p, p.parent


def output_path(src: Path, root: Path, out_dir: Path | None, fmt: str) -> Path:
    ext = src.suffix.lower() if fmt == "same" else WRITE_FORMATS[fmt]
    if ext in (".gif",):
        ext = ".png"
    if ext not in WRITE_FORMATS.values():
        ext = ".png"
    rel = src.parent.relative_to(root) if out_dir is not None and src.is_relative_to(root) else Path()
    base = (out_dir / rel) if out_dir is not None else src.parent
    return base / f"{src.stem}{SUFFIX}{ext}"


class Colorizer:
    """Owns the model store and the device; turns photos into colourised arrays and files."""

    def __init__(self, store: ModelStore | None = None, device: str = "auto") -> None:
        self.store = store or ModelStore()
        self.device = pick_device(device)

    def model(self, model_id: str | None) -> LoadedModel:
        return self.store.load(model_id, self.device)

    def colorize_image(self, img: LoadedImage, model_id: str | None = None,
                       hints: HintSet | None = None, size: int | None = None,
                       progress: Callable[[float, str], None] | None = None,
                       cancel: Callable[[], bool] | None = None) -> tuple[np.ndarray, list[str]]:
        """-> (RGB float32 (H, W, 3) in [0, 1] with the original L*, messages)."""
        model = self.model(model_id)
        fallback = None
        if model.device.type != "cpu":
            def fallback() -> LoadedModel:
                return self.store.load(model.card.id, torch.device("cpu"))
        res = colorize_l(model, img.l_star, hints, size, progress, cancel, fallback)
        return lab_to_rgb_fast(img.l_star, res.ab), res.messages

    def colorize_file(self, src: Path, dst: Path, model_id: str | None = None,
                      hints: HintSet | None = None, size: int | None = None,
                      max_pixels: int = DEFAULT_MAX_PIXELS, quality: int = 95,
                      depth: int | None = None) -> FileOutcome:
        t0 = time.perf_counter()
        out = FileOutcome(src, dst)
        try:
            if dst.resolve() == src.resolve():
                raise ImageWriteError(f"{src.name}: refusing to overwrite the original")
            img = read_image(src, max_pixels)
            out.messages += img.warnings
            if hints is None and sidecar_path(src).is_file():
                hints = load_hints(sidecar_path(src))
                out.messages.append(f"{src.name}: using {len(hints)} hints from "
                                    f"{sidecar_path(src).name}")
            rgb, msgs = self.colorize_image(img, model_id, hints, size)
            out.messages += msgs
            dtype = {8: np.uint8, 16: np.uint16}.get(depth or 0, img.dtype)
            dst.parent.mkdir(parents=True, exist_ok=True)
            write_image(dst, rgb, dtype, img.alpha, quality=quality,
                        exif=exif_without_orientation(img.exif))
        except ColorStudioError as exc:
            out.status, out.error, out.output = "failed", str(exc), None
        except OSError as exc:
            out.status, out.output = "failed", None
            out.error = f"{src.name}: {exc.strerror or exc}"
        except MemoryError:
            out.status, out.output = "failed", None
            out.error = f"{src.name}: not enough memory for this image"
        out.seconds = time.perf_counter() - t0
        return out
