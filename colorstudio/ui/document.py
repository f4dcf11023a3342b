"""One open photo: its L*, preprocessing recipe, hints with their undo stack, and results.

Coordinates: `hints` (and the undo stack, and the sidecar) are in the pixel coordinates of the
*original* photo, so they stay on the objects they were painted on whatever the recipe does.
The canvas and the engine work in the *view* space: the preprocessed full-resolution photo
(what the canvas shows and what the network sees); `geometry()` maps between the two and
`view_hints()` gives the hints there. `proxy_l` is the original L* shrunk so that its longer
side is at most `PROXY_SIDE`; previews run on it, with view hints scaled by `proxy_scale`.
`source` (a `core.jobs.PreprocessedL`) computes the full-resolution preprocessed L* once per
recipe, whichever job asks first (the preprocessing job or a colourisation).

The sidecar `<stem>.hints.json` (`core.hints`, version 3) keeps the hints with the recipe
they were painted with and the photo's size, the colour strength and the reference photo:
`read_sidecar` / `write_sidecar`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..core.compose import resize
from ..core.hints import DEFAULT_STRENGTH, HintSet, load_sidecar, save_sidecar, sidecar_path
from ..core.imageio import LoadedImage
from ..core.jobs import ColorizeResult, PreprocessedL
from ..core.preprocess import Geometry, Step, output_shape

PROXY_SIDE = 1024


class Document:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.image: LoadedImage | None = None
        self.proxy_l: np.ndarray | None = None
        self.processed_proxy: np.ndarray | None = None
        self.processed_full: np.ndarray | None = None  # None while being computed
        self.steps: tuple[Step, ...] = ()
        self.hints = HintSet()
        self.strength = DEFAULT_STRENGTH  # colour strength, 0 cautious .. 1 vivid
        self.reference: Path | None = None  # a colour photo guiding the colours
        self.undo = QUndoStack()
        self.source: PreprocessedL | None = None  # full-resolution L*, once per recipe
        self._proxy_source: PreprocessedL | None = None
        self.result: ColorizeResult | None = None  # the full-resolution result, or None
        self.result_key: tuple | None = None  # key() of the inputs it was made from
        self.evicted = False  # its result was dropped to save memory (made again when shown)
        self.preview_rgb8: np.ndarray | None = None
        self.before_pyr: Any = None  # Pyramid of processed_full (built by the worker)
        self.after_pyr: Any = None  # Pyramid of the full result (built by the worker)
        self.error = ""
        self.load_job: int | None = None
        self.hints_saved = True

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def loaded(self) -> bool:
        return self.image is not None

    def set_image(self, image: LoadedImage, proxy_l: np.ndarray | None = None,
                  before_pyr: Any = None) -> None:
        self.image = image
        self.proxy_l = proxy_l if proxy_l is not None else make_proxy(image.l_star)
        self.source = PreprocessedL(image.l_star)
        # A small photo is its own proxy: then one cache serves both.
        self._proxy_source = (self.source if self.proxy_l is image.l_star
                              else PreprocessedL(self.proxy_l))
        self.set_steps(self.steps)
        self.before_pyr = before_pyr

    def set_steps(self, steps: tuple[Step, ...]) -> None:
        """New recipe: the proxy is recomputed now; the full-resolution L* later (a job),
        unless this recipe was computed before."""
        self.steps = tuple(steps)
        assert self._proxy_source is not None and self.source is not None
        self.processed_proxy = self._proxy_source.get(self.steps)
        self.processed_full = self.source.peek(self.steps)
        self.before_pyr = None

    def geometry(self) -> Geometry:
        """Original photo <-> view (preprocessed photo) coordinates."""
        assert self.image is not None
        return Geometry.of(*self.image.l_star.shape, self.steps)

    def view_hints(self, hints: HintSet | None = None) -> HintSet:
        """`hints` (default: this photo's), given in original coordinates, in view space:
        what the engine's requests and the preprocessed exports take."""
        hints = self.hints if hints is None else hints
        return hints.to_view(self.geometry())

    @property
    def sidecar(self) -> Path:
        return sidecar_path(self.path)

    def read_sidecar(self) -> str | None:
        """Take the hints, the recipe, the colour strength and the reference photo from the
        sidecar, if there is one (the photo must be loaded) -> a status line for the user, or
        None without a sidecar. A bad sidecar raises `ColorStudioError` (one line, starting
        with its name) and changes nothing. A reference photo that is gone is not used."""
        if not self.sidecar.is_file():
            return None
        assert self.image is not None
        data = load_sidecar(self.sidecar)
        h, w = self.image.l_star.shape
        hints, note = data.for_image(h, w)
        notes = [note] if note else []
        reference = data.reference_path(self.path)
        if reference is not None and not reference.is_file():
            notes.append(f"the reference photo {reference.name} is not there: not used")
            reference = None
        self.hints, self.strength, self.reference = hints, data.strength, reference
        if data.steps and data.steps != self.steps:
            self.set_steps(data.steps)
        self.hints_saved = True
        what = [data.describe() if hints else "no hints"]
        if self.strength != DEFAULT_STRENGTH:
            what.append(f"colour strength {round(self.strength * 100)}")
        if reference is not None:
            what.append(f"reference {reference.name}")
        return (", ".join(what) + f" restored from {self.sidecar.name}"
                + (f" ({'; '.join(notes)})" if notes else ""))

    @property
    def needs_sidecar(self) -> bool:
        """Whether there is anything to save: hints, a colour strength or a reference."""
        return bool(self.hints) or self.strength != DEFAULT_STRENGTH or self.reference is not None

    def reference_text(self) -> str:
        """The reference as the sidecar writes it: relative to the photo's folder when it is
        in that folder (or below), else its absolute path ("" without one)."""
        if self.reference is None:
            return ""
        ref = self.reference.absolute()
        try:
            return ref.resolve().relative_to(self.path.absolute().parent.resolve()).as_posix()
        except ValueError:
            return str(ref)

    def write_sidecar(self) -> None:
        """Save the hints with the recipe, the photo's size, the colour strength and the
        reference (atomically); with nothing to save (`needs_sidecar`) the sidecar is
        removed. Raises OSError or ColorStudioError."""
        side = self.sidecar
        if self.needs_sidecar:
            size = None
            if self.image is not None:
                h, w = self.image.l_star.shape
                size = (w, h)
            save_sidecar(side, self.hints, self.steps, size, strength=self.strength,
                         reference=self.reference_text())
        elif side.is_file():
            side.unlink()
        self.hints_saved = True

    def space_size(self) -> tuple[int, int]:
        """(width, height) of the preprocessed full-resolution photo."""
        assert self.image is not None
        h, w = output_shape(*self.image.l_star.shape, self.steps)
        return w, h

    @property
    def proxy_scale(self) -> float:
        assert self.processed_proxy is not None
        return self.processed_proxy.shape[1] / self.space_size()[0]

    def key(self, model_id: str | None) -> tuple:
        """What a result depends on: a result with another key is out of date. The recipe
        is item 2 (the window checks it)."""
        return (model_id, self.hints, self.steps, self.strength, self.reference)

    def current_result(self, model_id: str | None) -> ColorizeResult | None:
        """The full-resolution result if it was made from today's inputs (for exports)."""
        if self.result is None or self.result_key != self.key(model_id):
            return None
        return self.result if self.result.size is None else None

    def lightness_at(self, x: float, y: float) -> float | None:
        """L* of the preprocessed photo at image-space (x, y), read from the proxy."""
        if self.processed_proxy is None:
            return None
        s = self.proxy_scale
        h, w = self.processed_proxy.shape
        xi, yi = int(x * s), int(y * s)
        if 0 <= xi < w and 0 <= yi < h:
            return float(self.processed_proxy[yi, xi])
        return None


def make_proxy(l_star: np.ndarray) -> np.ndarray:
    """L* shrunk so that its longer side is at most PROXY_SIDE (the same array if smaller)."""
    h, w = l_star.shape
    s = min(1.0, PROXY_SIDE / max(h, w))
    return l_star if s == 1.0 else resize(l_star, max(1, round(w * s)), max(1, round(h * s)))


class HintsCommand(QUndoCommand):
    """One hint edit as a pair of whole `HintSet` states (undo = put the old one back)."""

    def __init__(self, doc: Document, old: HintSet, new: HintSet, text: str,
                 apply: Any) -> None:
        super().__init__(text)
        self.doc, self.old, self.new, self._apply = doc, old, new, apply

    def redo(self) -> None:
        self._apply(self.doc, self.new)

    def undo(self) -> None:
        self._apply(self.doc, self.old)
