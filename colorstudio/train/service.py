"""The fine-tune job as a Qt service for the training wizard: one QThread per scan or run.

`TrainingService` lives in the GUI thread; work happens on worker threads and comes back as
signals (queued across threads). torch is imported only on the worker threads, so the app
constructs the service at start-up without waiting for it and the UI never imports torch.

Signals: `scanned(FolderScan)` / `scanFailed(str)`; `phase(str)`; `progress(step, total,
images_per_s, eta_s)`; `losses(step, {name: value})`; `baseline({metric: value}, rows)` with
the base model's preview rows; `preview(step, rows)` where rows are (4*S, 3*S, 3) uint8 arrays
of grey | model | truth per held-out photo (the UI converts them to QImages); `pausedChanged
(bool)`; and exactly one of `finished(FineTuneResult)`, `failed(str)`, `cancelled(int step)`
per run. `saved(ModelCard)` after `save()`.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from ..core import cards as card_io
from ..core.cards import ModelCard, default_model_id, discover_cards
from ..core.errors import CancelledError, ColorStudioError

log = logging.getLogger(__name__)

_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()


def live_threads() -> list[QThread]:
    """Training threads still running (tests assert this is empty at teardown)."""
    return [t for t in list(_THREADS) if t.isRunning()]


class _Worker(QThread):
    def __init__(self, fn: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._fn = fn
        _THREADS.add(self)

    def run(self) -> None:
        self._fn()


class TrainingService(QObject):
    scanned = Signal(object)
    scanFailed = Signal(str)
    scanProgress = Signal(int, int)
    phase = Signal(str)
    progress = Signal(int, int, float, float)
    losses = Signal(int, dict)
    baseline = Signal(dict, object)
    preview = Signal(int, object)
    pausedChanged = Signal(bool)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal(int)
    saved = Signal(object)

    def __init__(self, models_dirs: list[Path] | None = None, models_dir: Path | None = None,
                 work_root: Path | None = None, parent: QObject | None = None) -> None:
        """`models_dirs`: where base models are found (None = bundled + user folders);
        `models_dir`: where new models go (None = the per-user folder, platformdirs)."""
        super().__init__(parent)
        self.models_dir = Path(models_dir) if models_dir else card_io.user_models_dir()
        self.models_dirs = (None if models_dirs is None else
                            [*models_dirs, *([] if self.models_dir in models_dirs
                                             else [self.models_dir])])
        self.work_root = work_root
        self._store: Any = None  # engine.models.ModelStore, built on a worker thread
        self._scan_token = 0
        self._scan_cancel = threading.Event()
        self._scan_thread: _Worker | None = None
        self._run_thread: _Worker | None = None
        self._cancel = threading.Event()
        self._gate = threading.Event()  # set = running, clear = paused
        self._gate.set()
        self._job: Any = None
        self._result: Any = None
        self.last_step = 0

    # -- models (no torch) ------------------------------------------------------------------
    def cards(self) -> list[ModelCard]:
        """Models that can be fine-tuned (have weights), default first."""
        from .finetune_archs import FINETUNABLE_ARCHS

        cards = discover_cards(self.models_dirs)
        default = default_model_id(cards)
        usable = [c for c in cards.values() if c.has_weights and c.arch in FINETUNABLE_ARCHS]
        return sorted(usable, key=lambda c: (c.id != default, c.name.lower()))

    def default_id(self) -> str | None:
        return default_model_id(discover_cards(self.models_dirs))

    @staticmethod
    def unpaired_archs() -> tuple[str, ...]:
        from .finetune_archs import UNPAIRED_ARCHS

        return UNPAIRED_ARCHS

    def devices(self) -> list[tuple[str, str]]:
        """(value, label) pairs for a device chooser; "auto" picks the GPU when present."""
        import torch  # noqa: PLC0415 - only when the wizard asks

        out = [("auto", "Automatic (GPU when present)"), ("cpu", "CPU")]
        if torch.cuda.is_available():
            out += [(f"cuda:{i}", f"GPU {i}: {torch.cuda.get_device_name(i)}")
                    for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            out.append(("mps", "Apple GPU (MPS)"))
        return out

    # -- scanning ---------------------------------------------------------------------------
    def scan(self, folder: Path) -> None:
        """Scan in the background; a newer scan supersedes an older one."""
        self._scan_token += 1
        token = self._scan_token
        self._scan_cancel.set()
        if self._scan_thread is not None:
            self._scan_thread.wait()
        self._scan_cancel = cancel = threading.Event()

        def work() -> None:
            from .finetune import scan_folder

            try:
                res = scan_folder(Path(folder), progress=lambda i, n: self.scanProgress.emit(i, n),
                                  cancel=cancel.is_set)
            except CancelledError:
                return
            except ColorStudioError as exc:
                if token == self._scan_token:
                    self.scanFailed.emit(str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - shown as one line, logged in full
                log.exception("scan failed")
                self.scanFailed.emit(f"could not scan {folder}: {exc}")
                return
            if token == self._scan_token:
                self.scanned.emit(res)

        self._scan_thread = _Worker(work, self)
        self._scan_thread.start()

    # -- training ---------------------------------------------------------------------------
    def _make_job(self, options: dict) -> Any:
        from ..engine.models import ModelStore
        from .finetune import FineTuneJob, FineTuneOptions

        if self._store is None:
            self._store = ModelStore(self.models_dirs)
        self._store.cards(refresh=True)
        return FineTuneJob(FineTuneOptions(**options), self._store, self.models_dir,
                           self.work_root)

    def can_resume(self, base_id: str, data: Path, name: str = "") -> bool:
        """True when an interrupted run of `base_id` on `data` (under `name`) has a checkpoint."""
        from .finetune_archs import can_resume, model_id_for, proposed_name, work_dir_for

        if not name:  # the name a new run would get (FineTuneJob: numbered past models)
            name = proposed_name(base_id, data, self.models_dir, self._card_ids())
        return can_resume(work_dir_for(self.models_dir, model_id_for(name), self.work_root))

    def _card_ids(self) -> set[str]:
        """Ids of every card the job's store would know (bundled files included): no torch."""
        ids = set(discover_cards(self.models_dirs))
        bundled = card_io.bundled_models_dir()
        if bundled.is_dir():
            ids |= {p.stem for p in bundled.glob("*.toml")}
        return ids

    def is_running(self) -> bool:
        return self._run_thread is not None and self._run_thread.isRunning()

    def start(self, options: dict, resume: bool = False, scan: Any = None) -> None:
        """Run `FineTuneJob(FineTuneOptions(**options))` on a worker thread."""
        if self.is_running() and self._cancel.is_set() and self._run_thread is not None:
            self._run_thread.wait(30000)  # a stopped run still winding down (e.g. "Resume")
        if self.is_running():
            raise ColorStudioError("a training run is already in progress")
        self._cancel = threading.Event()
        self._gate.set()
        self._result = None
        self.last_step = 0
        cancel = self._cancel
        shown = {"step": -1, "ips": 0.0}  # the last step the UI was told about

        def check() -> bool:
            # A paused run waits here, inside fit's cancellation check (not budget time);
            # cancel() opens the gate.
            self._gate.wait()
            return cancel.is_set()

        def on_event(e: Any) -> None:
            if e.kind == "phase":
                self.phase.emit(e.message)
            elif e.kind == "step":
                self.last_step = e.step
                shown.update(step=e.step, ips=e.images_per_s)
                self.progress.emit(e.step, e.total, e.images_per_s, e.eta_s)
                self.losses.emit(e.step, dict(e.losses))
            elif e.kind in ("cancelled", "done"):
                # The loop logs every few steps but stops at any step: report where it really
                # stopped, so "Stopped at step 17" never sits beside "step 15".
                self.last_step = e.step
                if e.step and e.step != shown["step"]:
                    shown["step"] = e.step
                    self.progress.emit(e.step, e.total, shown["ips"], 0.0)
                    if e.losses:
                        self.losses.emit(e.step, dict(e.losses))
            elif e.kind == "checkpoint":
                self.last_step = e.step
            elif e.kind == "preview" and e.preview is not None:
                self.preview.emit(e.step, e.preview)
            elif e.kind == "baseline":
                self.baseline.emit(dict(e.losses), e.preview)
            elif e.kind == "start":
                self.last_step = e.step
                self.phase.emit(e.message)
            elif e.kind == "scan" and e.total:
                self.phase.emit(f"Decoding photos {e.step}/{e.total}")

        def work() -> None:
            try:
                job = self._make_job(options)
                self._job = job
                result = job.run(on_event, check, resume=resume, scan=scan)
            except CancelledError:
                self.cancelled.emit(self.last_step)
                return
            except ColorStudioError as exc:
                self.failed.emit(str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - one line for the user, details logged
                log.exception("training failed")
                self.failed.emit(f"training failed: {exc}")
                return
            if result.cancelled:  # nothing to save: `result` stays None
                self.cancelled.emit(result.steps)
            else:
                self._result = result
                self.finished.emit(result)

        self._run_thread = _Worker(work, self)
        self._run_thread.start()

    def pause(self) -> None:
        if self._gate.is_set():
            self._gate.clear()
            self.pausedChanged.emit(True)

    def resume(self) -> None:
        if not self._gate.is_set():
            self._gate.set()
            self.pausedChanged.emit(False)

    def is_paused(self) -> bool:
        return not self._gate.is_set()

    def cancel(self) -> None:
        """Stop at the next step; the checkpoint is kept and no model is written."""
        self._cancel.set()
        self.resume()

    @property
    def result(self) -> Any:
        return self._result

    def save(self, name: str) -> ModelCard:
        """Write the finished run's model under `name`; raises ColorStudioError."""
        if self._job is None or self._result is None:
            raise ColorStudioError("there is no finished training run to save")
        reason = self.check_name(name)
        if reason:  # the wizard's words; job.save refuses a taken name in any case
            raise ColorStudioError(reason)
        card = self._job.save(self._result, name)
        self._result = None
        self.saved.emit(card)
        return card

    def check_name(self, name: str) -> str:
        """"" when `name` can be saved, else a one-line reason."""
        if not name.strip():
            return "Enter a name for the new model."
        if self._job is None:
            return ""
        from .finetune_archs import model_id_for

        old = (self._job.name, self._job.model_id)
        self._job.name, self._job.model_id = name, model_id_for(name)
        mid = self._job.model_id
        try:
            self._job.check_name()
        except ColorStudioError as exc:
            if (self._job.models_dir / f"{mid}.toml").is_file() and "bundled" not in str(exc):
                # The user's words: which model it would replace; never replaced silently.
                card = discover_cards([self._job.models_dir]).get(mid)
                what = f"“{card.name}”" if card is not None and card.name else f"“{mid}”"
                return (f"A model {what} (id {mid}) already exists; models are never "
                        "overwritten. Choose another name.")
            if "bundled" in str(exc):
                return f"“{mid}” is the id of a built-in model; choose another name."
            return str(exc)
        finally:
            self._job.name, self._job.model_id = old
        return ""

    def discard(self) -> None:
        if self._job is not None and not self.is_running():
            self._job.discard()
        self._result = None

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel everything and join the threads (the app calls this when closing)."""
        self._scan_cancel.set()
        self.cancel()
        ok = True
        for t in (self._scan_thread, self._run_thread):
            if t is not None and not t.wait(timeout_ms):
                ok = False
        return ok
