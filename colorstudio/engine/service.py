"""The engine as a Qt service: one worker QThread owns the `Colorizer`; the GUI submits jobs.

Every job has an id and ends in exactly one of `finished(id, result)`, `failed(id, message)`
or `cancelled(id)`; `progress(id, fraction, message)` may come before. Jobs submitted with a
`latest_key` (live previews) follow "latest request wins": a newer job with the same key
cancels the older one whether it is still queued or already running, so the worker never
works through a queue of stale previews. `shutdown()` cancels everything and joins the thread.

torch is imported only inside the worker thread (the window opens without waiting for it);
the GUI reads model cards through `core.cards`, which has no torch.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import shutil
import threading
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from ..core.cards import (ModelCard, card_to_toml, default_model_id, discover_cards, load_card,
                          sha256_file, user_models_dir, weights_name)
from ..core.errors import CancelledError, ColorStudioError, ImageWriteError, ModelError
from ..core.imageio import atomic_write, atomic_write_text, read_image
from ..core.jobs import (ColorizeRequest, ColorizeResult, EngineAPI, ExportItem, ExportSummary,
                         JobKind, scaled_hints)

__all__ = ["ColorizeRequest", "ColorizeResult", "EngineAPI", "EngineService", "ExportItem",
           "ExportSummary", "JobContext", "JobKind", "live_threads", "record_path", "scaled_hints"]

log = logging.getLogger(__name__)

_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()


def live_threads() -> list[QThread]:
    """Worker threads of every service that are still running (tests assert this is empty)."""
    return [t for t in list(_THREADS) if t.isRunning()]


class JobContext:
    """What a job function sees: progress, a cancellation check and the lazily built engine."""

    def __init__(self, service: EngineService, job: _Job) -> None:
        self._service = service
        self._job = job

    @property
    def job_id(self) -> int:
        return self._job.id

    def progress(self, fraction: float, message: str = "") -> None:
        self._service.progress.emit(self._job.id, float(fraction), message)

    def cancelled(self) -> bool:
        return self._job.cancel.is_set()

    def check(self) -> None:
        if self._job.cancel.is_set():
            raise CancelledError("cancelled")

    @property
    def colorizer(self) -> Any:
        return self._service._worker_colorizer()


@dataclass
class _Job:
    id: int
    kind: JobKind | str
    fn: Callable[[JobContext], Any]
    latest_key: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


class _Worker(QThread):
    def __init__(self, service: EngineService) -> None:
        super().__init__()
        self._service = service

    def run(self) -> None:  # noqa: D401 - Qt entry point
        self._service._run_loop()


class EngineService(QObject):
    """Owns the worker thread and the engine; all signals arrive on the GUI thread."""

    ready = Signal(str)  # device description, once torch is loaded
    progress = Signal(int, float, str)
    finished = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    cards_changed = Signal()

    def __init__(self, models_dirs: list[Path] | None = None, device: str = "auto",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.models_dirs = list(models_dirs) if models_dirs is not None else None
        self.device_name = device
        self.device_description = ""
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._low: deque[_Job] = deque()
        self._running: _Job | None = None
        self._stopping = False
        self._colorizer: Any = None
        self._store_stale = False
        self._cards: dict[str, ModelCard] | None = None
        self._thread = _Worker(self)
        self._thread.setObjectName("colorstudio-engine")
        _THREADS.add(self._thread)
        self._thread.start()

    # ----- model cards (GUI thread, no torch) -----
    def cards(self, refresh: bool = False) -> dict[str, ModelCard]:
        if self._cards is None or refresh:
            self._cards = discover_cards(self.models_dirs)
            if refresh:
                self._store_stale = True
                self.cards_changed.emit()
        return self._cards

    def default_id(self) -> str | None:
        """The card marked default if it has weights, else the first model with weights."""
        cards = self.cards()
        mid = default_model_id(cards)
        if mid is not None and cards[mid].has_weights:
            return mid
        return next((c.id for c in cards.values() if c.has_weights), None)

    def import_dir(self) -> Path:
        """Where imported models go: the last models folder in use (the user's by default)."""
        return self.models_dirs[-1] if self.models_dirs else user_models_dir()

    # ----- jobs -----
    def submit(self, fn: Callable[[JobContext], Any], kind: JobKind | str = JobKind.OTHER,
               latest_key: str | None = None, low_priority: bool = False) -> int:
        job = _Job(next(self._ids), kind, fn, latest_key)
        stale: list[_Job] = []
        with self._cond:
            if self._stopping:
                stale.append(job)
            else:
                if latest_key is not None:
                    for q in (self._queue, self._low):
                        for old in [j for j in q if j.latest_key == latest_key]:
                            q.remove(old)
                            stale.append(old)
                    if self._running is not None and self._running.latest_key == latest_key:
                        self._running.cancel.set()
                (self._low if low_priority else self._queue).append(job)
                self._cond.notify()
        for old in stale:
            self.cancelled.emit(old.id)
        return job.id

    def cancel(self, job_id: int) -> bool:
        """Cancel a queued or running job; False when it is unknown or already over."""
        with self._cond:
            queued = next(((q, j) for q in (self._queue, self._low) for j in q
                           if j.id == job_id), None)
            if queued is None:
                if self._running is not None and self._running.id == job_id:
                    self._running.cancel.set()
                    return True
                return False
            queued[0].remove(queued[1])
        self.cancelled.emit(job_id)
        return True

    def cancel_all(self) -> None:
        with self._cond:
            dropped = list(self._queue) + list(self._low)
            self._queue.clear()
            self._low.clear()
            if self._running is not None:
                self._running.cancel.set()
        for j in dropped:
            self.cancelled.emit(j.id)

    def is_busy(self) -> bool:
        with self._cond:
            return self._running is not None or bool(self._queue) or bool(self._low)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel all jobs, stop the worker and wait for it; True when it has stopped."""
        with self._cond:
            self._stopping = True
        self.cancel_all()
        with self._cond:
            self._cond.notify_all()
        if not self._thread.isRunning():
            return True
        return bool(self._thread.wait(timeout_ms))

    # ----- typed jobs -----
    def load_image(self, path: Path, low_priority: bool = False) -> int:
        return self.submit(lambda ctx: read_image(path), JobKind.LOAD,
                           low_priority=low_priority)

    def colorize(self, request: ColorizeRequest, latest_key: str | None = None) -> int:
        kind = JobKind.PREVIEW if latest_key == "preview" else JobKind.COLORIZE
        return self.submit(lambda ctx: _colorize(ctx, request), kind, latest_key)

    def preview(self, request: ColorizeRequest) -> int:
        """A live preview: the latest request wins over older previews."""
        return self.colorize(request, latest_key="preview")

    def export(self, items: list[ExportItem]) -> int:
        return self.submit(lambda ctx: _export(ctx, items), JobKind.EXPORT)

    def verify(self, model_id: str) -> int:
        card = self.cards()[model_id]
        return self.submit(lambda ctx: card.verify(), JobKind.VERIFY)

    def import_model(self, weights: Path, card_path: Path) -> int:
        dest = self.import_dir()
        return self.submit(lambda ctx: _import_model(ctx, weights, card_path, dest,
                                                     set(self.cards())), JobKind.IMPORT)

    # ----- worker side -----
    def _worker_colorizer(self) -> Any:
        if self._colorizer is None:
            from .batch import Colorizer
            from .models import ModelStore

            self._colorizer = Colorizer(ModelStore(self.models_dirs), self.device_name)
            if self._colorizer.device.type == "cpu":
                import os

                import torch

                # Leave a core to the GUI thread (repaints, pyramids): on small machines the
                # OpenMP pool otherwise competes with it and with itself.
                cores = os.cpu_count() or 2
                torch.set_num_threads(max(1, min(torch.get_num_threads(), cores - 1)))
        if self._store_stale:
            self._store_stale = False
            self._colorizer.store.cards(refresh=True)
            self._colorizer.store.forget()
        return self._colorizer

    def _run_loop(self) -> None:
        try:
            from .device import describe

            self.device_description = describe(self._worker_colorizer().device)
        except Exception as exc:  # noqa: BLE001 - reported, the GUI still works without a device
            log.exception("engine start failed")
            self.device_description = f"engine unavailable ({exc})"
        self.ready.emit(self.device_description)
        while True:
            with self._cond:
                while not self._queue and not self._low and not self._stopping:
                    self._cond.wait()
                if self._stopping and not self._queue and not self._low:
                    return
                job = (self._queue or self._low).popleft()
                self._running = job
            self._execute(job)
            with self._cond:
                self._running = None

    def _execute(self, job: _Job) -> None:
        ctx = JobContext(self, job)
        try:
            if job.cancel.is_set():
                raise CancelledError("cancelled")
            result = job.fn(ctx)
            if job.cancel.is_set():
                raise CancelledError("cancelled")
        except CancelledError:
            self.cancelled.emit(job.id)
        except ColorStudioError as exc:
            self.failed.emit(job.id, str(exc))
        except MemoryError:
            self.failed.emit(job.id, "not enough memory for this image")
        except Exception as exc:  # noqa: BLE001 - a bug must end the job, not the worker
            kind = getattr(job.kind, "value", job.kind)
            log.exception("job %s (%s) failed", job.id, kind)
            self.failed.emit(job.id, f"unexpected error in {kind}: {exc}")
        else:
            self.finished.emit(job.id, result)


def _colorize(ctx: JobContext, req: ColorizeRequest) -> ColorizeResult:
    ctx.colorizer.start_job()
    ctx.check()
    return ctx.colorizer.colorize_request(req, ctx.progress, ctx.cancelled)


def record_path(dst: Path) -> Path:
    """Where the preprocessing record of an output goes: `<output name>.json` (the same rule
    as `engine.batch.record_path`, repeated here so that this module does not import torch)."""
    return dst.with_name(dst.name + ".json")


def _export_one(ctx: JobContext, item: ExportItem) -> Any:  # batch.FileOutcome
    """One photo through the one export path (`Colorizer.colorize_file`, as the CLI uses)."""
    if item.dst.resolve() == item.src.resolve() or (
            item.compare is not None and item.compare.resolve() == item.src.resolve()):
        raise ImageWriteError(f"{item.src.name}: refusing to overwrite the original")
    out = ctx.colorizer.colorize_file(item.src, item.dst, model_id=item.model_id,
                                      hints=item.hints, quality=item.quality, depth=item.depth,
                                      compression=item.compression, steps=item.steps,
                                      compare=item.compare, cancel=ctx.cancelled,
                                      precomputed=item.result, strength=item.strength,
                                      reference=item.reference)
    if out.status != "ok":
        raise ColorStudioError(out.error)
    return out


def _export(ctx: JobContext, items: list[ExportItem]) -> ExportSummary:
    summary = ExportSummary()
    ctx.colorizer.start_job()
    for i, item in enumerate(items):
        ctx.check()
        ctx.progress(i / max(len(items), 1), f"exporting {item.src.name} ({i + 1}/{len(items)})")
        try:
            out = _export_one(ctx, item)
            summary.messages += out.messages
            summary.reused += bool(out.reused)
            summary.written.append(item.dst)
            if item.compare is not None:
                summary.written.append(item.compare)
        except CancelledError:
            raise
        except ColorStudioError as exc:
            summary.failed.append(str(exc))
        except OSError as exc:
            summary.failed.append(f"{item.src.name}: {exc.strerror or exc}")
    ctx.progress(1.0, f"exported {len(summary.written)} file(s)")
    return summary


def _import_model(ctx: JobContext, weights: Path, card_path: Path, dest: Path,
                  existing: set[str]) -> ModelCard:
    """Check a user's safetensors file against its card, then copy both into `dest`."""
    from ..nets import build
    from .weights import load_weights

    weights, card_path = Path(weights), Path(card_path)
    if weights.suffix.lower() != ".safetensors":
        raise ModelError(f"{weights.name}: only .safetensors weights can be imported "
                         "(convert a .pth first: `colorstudio import-model FILE.pth --arch ID`)")
    card = load_card(card_path)
    if card.id in existing:
        raise ModelError(f"a model with id '{card.id}' is already installed; "
                         "give the card another id")
    digest = sha256_file(weights)
    if card.sha256 and card.sha256 != digest:
        raise ModelError(f"{weights.name}: sha256 does not match the card's sha256")
    net = build(card.arch, card.config)
    load_weights(net, weights, digest)  # raises a clear ModelError when shapes do not fit
    ctx.check()
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / weights_name(card.id, digest)
    card = dataclasses.replace(card, weights=final.name, sha256=digest,
                               bytes=weights.stat().st_size, default=False, path=None)
    atomic_write(final, lambda tmp: shutil.copyfile(weights, tmp))
    toml_path = dest / f"{card.id}.toml"
    atomic_write_text(toml_path, card_to_toml(card))
    return dataclasses.replace(card, path=toml_path)
