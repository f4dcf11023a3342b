"""The nouns the window and the engine share: requests, results, job kinds and states.

No Qt and no torch here (tests/test_layers.py checks it), so `ui/` and `engine/` both import
these types and neither needs the other: the window builds a `ColorizeRequest`, the engine's
worker turns it into a `ColorizeResult`; an export is a list of `ExportItem`s that ends in one
`ExportSummary`. `EngineAPI` is what the window may call on the engine (the Qt service in
`engine/service.py` satisfies it). `PreprocessedL` computes a photo's preprocessed L* once per
step list, for whichever thread asks first; `scan_paths` turns what the user dropped or opened
into a `FolderScan`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .cards import ModelCard
from .hints import DEFAULT_STRENGTH, HintSet
from .imageio import READ_FORMATS
from .preprocess import Step, apply_steps
from .uncertainty import Distribution

# Our own outputs, never picked up again when a folder is opened or batch-colourised.
OUTPUT_SUFFIXES = ("_colorized", "_compare")
# Live hint previews run the network at this size (or the card's, if smaller); the full-size
# job follows when the painting pauses. `colorstudio bench` measures the same path.
PREVIEW_SIZE = 128


class JobKind(str, Enum):
    """What a background job does (the value is what logs and `jobEnded` listeners see)."""

    LOAD = "load"  # read a photo, its proxy and grey pyramid
    THUMB = "thumb"  # a filmstrip thumbnail of a photo not yet opened
    PREPROCESS = "preprocess"  # the full-resolution preprocessed L* and its pyramid
    PREVIEW = "preview"  # a live preview on the proxy (latest request wins)
    COLORIZE = "colorize"  # the full-resolution result
    EXPORT = "export"  # files written through `Colorizer.colorize_file`
    VERIFY = "verify"  # a model's sha256 check
    IMPORT = "import"  # a user's model copied into the models folder
    OTHER = "job"

    @property
    def user_facing(self) -> bool:
        """Shown with the progress bar and the Cancel button."""
        return self in (JobKind.COLORIZE, JobKind.EXPORT, JobKind.LOAD)

    @property
    def cancellable(self) -> bool:
        """Cancelled by the window's Cancel (Esc)."""
        return self in (JobKind.COLORIZE, JobKind.PREVIEW, JobKind.EXPORT)


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def over(self) -> bool:
        return self in (JobState.FINISHED, JobState.FAILED, JobState.CANCELLED)


class PreprocessedL:
    """One photo's L* and its preprocessed versions, each computed once per step list.

    Thread-safe: the preprocessing job and a colourise job asking for the same steps at the
    same time compute it once (the second waits for the first). The `keep` most recently used
    step lists stay cached (full-resolution float32 arrays: a few at most)."""

    def __init__(self, l_star: np.ndarray, keep: int = 2) -> None:
        self.l_star = l_star
        self.keep = keep
        self._lock = threading.Lock()
        self._done: list[tuple[tuple[Step, ...], np.ndarray]] = []
        self._busy: list[tuple[tuple[Step, ...], threading.Event]] = []
        self.computed = 0  # how many times the steps were applied (tests read it)

    def peek(self, steps: Sequence[Step]) -> np.ndarray | None:
        """The preprocessed L* if it is already computed, else None (never computes)."""
        steps = tuple(steps)
        if not steps:
            return self.l_star
        with self._lock:
            return next((a for s, a in self._done if s == steps), None)

    def get(self, steps: Sequence[Step]) -> np.ndarray:
        steps = tuple(steps)
        if not steps:
            return self.l_star
        while True:
            with self._lock:
                for i, (s, arr) in enumerate(self._done):
                    if s == steps:
                        self._done.append(self._done.pop(i))  # most recently used last
                        return arr
                wait = next((e for s, e in self._busy if s == steps), None)
                if wait is None:
                    mine = threading.Event()
                    self._busy.append((steps, mine))
                    break
            wait.wait()  # another thread is computing these steps: use its result
        try:
            out = apply_steps(self.l_star, steps)
            with self._lock:
                self.computed += 1
                self._done.append((steps, out))
                del self._done[: max(0, len(self._done) - self.keep)]
            return out
        finally:
            with self._lock:
                self._busy = [(s, e) for s, e in self._busy if e is not mine]
            mine.set()


def scaled_hints(hints: HintSet | None, scale: float) -> HintSet | None:
    """Hints in coordinates multiplied by `scale` (for previews on a downscaled proxy)."""
    if not hints or scale == 1.0:
        return hints
    return dataclasses.replace(
        hints,
        points=tuple(dataclasses.replace(p, x=p.x * scale, y=p.y * scale,
                                         radius=max(p.radius * scale, 1)) for p in hints.points),
        strokes=tuple(dataclasses.replace(s, points=tuple((x * scale, y * scale)
                                                          for x, y in s.points),
                                          width=max(s.width * scale, 1.0))
                      for s in hints.strokes))


@dataclass(frozen=True)
class ColorizeRequest:
    """Everything one colourisation needs (immutable, so a queued job cannot change under us).

    `l_star` is the photo's L* (H, W) float32 [0, 100] before `steps`; `hints` are in the
    coordinates of the preprocessed image; `scale` maps those coordinates onto `l_star` when
    it is a downscaled proxy (live previews). With `source` (the photo's `PreprocessedL`) the
    worker takes the preprocessed L* from there, computed once per step list."""

    l_star: np.ndarray
    model_id: str
    hints: HintSet | None = None
    steps: tuple[Step, ...] = ()
    size: int | None = None
    scale: float = 1.0
    preprocessed: bool = False  # True: l_star already has `steps` applied
    # Run on the worker with the uint8 result (e.g. build display images off the GUI thread).
    display: Callable[[np.ndarray], Any] | None = None
    source: PreprocessedL | None = None
    strength: float = DEFAULT_STRENGTH  # colour strength, 0 cautious .. 1 vivid
    reference: Path | None = None  # a colour photo whose colours guide the result
    solve_size: int | None = None  # the hint solve's size (None: the full-quality default)

    def processed_l(self) -> np.ndarray:
        """The L* the model sees (worker side)."""
        if self.preprocessed or not self.steps:
            return self.l_star
        if self.source is not None:
            return self.source.get(self.steps)
        return apply_steps(self.l_star, self.steps)


@dataclass
class ColorizeResult:
    rgb: np.ndarray  # (H, W, 3) float32 [0, 1]
    rgb8: np.ndarray  # (H, W, 3) uint8, for display
    l_star: np.ndarray  # the preprocessed L* the model saw, (H, W)
    model_id: str
    messages: list[str]
    display: Any = None  # what `ColorizeRequest.display` made of `rgb8`
    working_size: tuple[int, int] = (0, 0)  # (w, h) the network ran at (for provenance)
    device: str = ""  # where it ran: "cpu", "cuda", ...
    hints: HintSet | None = None  # the view-space hints it was made with
    size: int | None = None  # the request's working size; None = the card's (full result)
    strength: float = DEFAULT_STRENGTH
    reference: Path | None = None
    # The model's own ab distribution (models with an ab-bin head; for suggestions and the
    # uncertainty view) and how much the hints decide each pixel (None without hints).
    distribution: Distribution | None = None
    influence: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (the display pyramid is about as large as rgb8)."""
        extra = (self.distribution.nbytes if self.distribution is not None else 0) + (
            self.influence.nbytes if self.influence is not None else 0)
        return int(self.rgb.nbytes + 2 * self.rgb8.nbytes + self.l_star.nbytes + extra)


@dataclass(frozen=True)
class ExportItem:
    """One photo to export, through the same `Colorizer.colorize_file` as the CLI. `hints` are
    in the original photo's coordinates, as in its sidecar (`colorize_file` maps them through
    the geometric `steps`); None: the sidecar beside `src` is used. `result`: the on-screen
    result made from these very inputs (model, hints, steps): written as it is, the model
    does not run again."""

    src: Path
    dst: Path
    model_id: str
    hints: HintSet | None = None
    steps: tuple[Step, ...] = ()
    quality: int = 95
    depth: int | None = None  # 8, 16 or None (same as the original)
    compare: Path | None = None  # also write a side-by-side before|after image here
    compression: str = "deflate"  # TIFF: none, lzw or deflate (as `colorize --compression`)
    result: ColorizeResult | None = None
    strength: float | None = None  # None: the sidecar's (as `colorize_file`)
    reference: Path | None = None


@dataclass
class ExportSummary:
    written: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    reused: int = 0  # photos written from the on-screen result (no second model run)


@dataclass
class FolderScan:
    """What a list of opened or dropped paths holds: `files` as (photo, what the user opened:
    the file itself or a folder above it), the `folders` in which photos were found, and the
    paths that do not exist."""

    files: list[tuple[Path, Path]] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)


def is_photo(path: Path) -> bool:
    """A photo a folder scan picks up: a readable format, not our output, not hidden."""
    return (path.suffix.lower() in READ_FORMATS and not path.stem.endswith(OUTPUT_SUFFIXES)
            and not path.name.startswith("."))


def scan_paths(paths: Sequence[Path]) -> FolderScan:
    """Files as given; folders searched recursively for photos (skipping our own outputs)."""
    scan = FolderScan()
    for p in map(Path, paths):
        if not p.exists():
            scan.missing.append(p)
        elif p.is_dir():
            found = [(f, p) for f in sorted(p.rglob("*")) if f.is_file() and is_photo(f)]
            scan.files += found
            if found:
                scan.folders.append(p)
        else:
            scan.files.append((p, p))
    return scan


class SignalLike(Protocol):
    def connect(self, slot: Callable[..., Any]) -> Any: ...

    def emit(self, *args: Any) -> None: ...


@runtime_checkable
class EngineAPI(Protocol):
    """What the window and its controllers call on the engine (`engine.service.EngineService`).

    Jobs end in exactly one of `finished(id, result)`, `failed(id, message)` or
    `cancelled(id)`; `progress(id, fraction, message)` may come before."""

    ready: SignalLike  # (device description)
    progress: SignalLike  # (job id, fraction, message)
    finished: SignalLike  # (job id, result)
    failed: SignalLike  # (job id, message)
    cancelled: SignalLike  # (job id)
    cards_changed: SignalLike
    device_description: str
    models_dirs: list[Path] | None

    def cards(self, refresh: bool = False) -> dict[str, ModelCard]: ...

    def default_id(self) -> str | None: ...

    def import_dir(self) -> Path: ...

    def submit(self, fn: Callable[[Any], Any], kind: JobKind | str = JobKind.OTHER,
               latest_key: str | None = None, low_priority: bool = False) -> int: ...

    def cancel(self, job_id: int) -> bool: ...

    def cancel_all(self) -> None: ...

    def is_busy(self) -> bool: ...

    def shutdown(self, timeout_ms: int = 30000) -> bool: ...

    def colorize(self, request: ColorizeRequest, latest_key: str | None = None) -> int: ...

    def preview(self, request: ColorizeRequest) -> int: ...

    def export(self, items: list[ExportItem]) -> int: ...

    def verify(self, model_id: str) -> int: ...

    def import_model(self, weights: Path, card_path: Path) -> int: ...
