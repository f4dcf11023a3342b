"""The main window: it wires the rooms together and shows one photo at a time.

Rooms (one job each): `photos.PhotosController` (filmstrip, opening, "Open recent"),
`hints_controller.HintsController` (the Hints dock and hint edits), `export_controller.
ExportController` (dialogs, output names, the export job), `jobs.JobTracker` (typed jobs and
the memory of results), `chrome.WindowChrome` (actions, menus, toolbar, status bar). The
window itself keeps the canvas, the models, colourisation and the engine's answers.

The window talks to the engine only through the injected service (`services.engine`, a
`core.jobs.EngineAPI`): jobs with ids and the signals finished / failed / cancelled /
progress. It never imports torch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QUndoGroup
from PySide6.QtWidgets import (QDockWidget, QMainWindow, QScrollArea, QStackedWidget,
                               QVBoxLayout, QWidget)

from ..core.cards import ModelCard
from ..core.errors import ColorStudioError
from ..core.hints import HintSet
from ..core.jobs import ColorizeRequest, ColorizeResult, EngineAPI, JobKind, JobState
from .banner import Banner
from .canvas import BeforeAfterCanvas
from .chrome import WindowChrome
from .document import Document
from .export_controller import ExportController
from .hints_controller import HintsController
from .imaging import Pyramid, l_to_grey8
from .jobs import Job, JobTracker
from .models_room import ModelsRoom
from .photos import MAX_RECENT, THUMB, PhotosController, expand_paths, prepare
from .preprocess_panel import PreprocessPanel
from ..core.jobs import PREVIEW_SIZE
from .services import AppServices

__all__ = ["MAX_RECENT", "PREVIEW_SIZE", "THUMB", "MainWindow", "expand_paths"]
log = logging.getLogger(__name__)


class MainWindow(WindowChrome, ModelsRoom, QMainWindow):
    resultShown = Signal(object)  # Document: a full-resolution result is on the canvas
    previewShown = Signal(object)  # Document: a live preview is on the canvas
    documentShown = Signal(object)  # Document: loaded and displayed
    exportDone = Signal(object)  # core.jobs.ExportSummary
    jobEnded = Signal(int, str)  # job id, JobState value: "finished" | "failed" | "cancelled"

    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self.engine: EngineAPI = services.engine
        self.settings = services.settings
        self.setWindowTitle("ColorStudio")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.docs: list[Document] = []
        self.current: Document | None = None
        self.model_id: str | None = None
        self.jobs = JobTracker()
        self._icons: list[tuple[object, str]] = []
        self._manager = None
        self._wizard: QWidget | None = None
        self.undo_group = QUndoGroup(self)

        self._build_central()
        self.photos = PhotosController(self)
        self.hints = HintsController(self)
        self.exports = ExportController(self)
        self._build_docks()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status()
        self._full_timer = QTimer(self, singleShot=True, interval=600)
        self._full_timer.timeout.connect(lambda: self.colourise(latest=True))

        self.engine.ready.connect(self._engine_ready)
        self.engine.progress.connect(self._job_progress)
        self.engine.finished.connect(self._job_finished)
        self.engine.failed.connect(self._job_failed)
        self.engine.cancelled.connect(self._job_cancelled)
        self.services.listeners.append(self.refresh_models)
        if self.engine.device_description:
            self._engine_ready(self.engine.device_description)

        self.refresh_models()
        self._restore_settings()
        self._update_actions()

    # ----- the rooms' public faces (menus, tests and app.py call these) -----
    @property
    def filmstrip(self):  # noqa: ANN201 - QListWidget
        return self.photos.filmstrip

    @property
    def brush_spin(self):  # noqa: ANN201 - QSpinBox
        return self.hints.brush_spin

    @property
    def hint_count(self):  # noqa: ANN201 - QLabel
        return self.hints.hint_count

    @property
    def recent_colours(self) -> list[tuple[int, int, int]]:
        return self.hints.recent_colours

    @property
    def _jobs(self) -> dict[int, tuple[str, Document | None]]:
        """{id: (kind, photo)} of the jobs in flight (older tests read this shape)."""
        return self.jobs.as_dict()

    def open_paths(self, paths: list[Path]) -> list[Document]:
        return self.photos.open_paths(paths)

    def open_files_dialog(self) -> None:
        self.photos.open_files_dialog()

    def open_folder_dialog(self) -> None:
        self.photos.open_folder_dialog()

    def open_sample(self) -> None:
        self.photos.open_sample()

    def recent_files(self) -> list[str]:
        return self.photos.recent_files()

    def _step_photo(self, delta: int) -> None:
        self.photos.step(delta)

    def set_colour(self, rgb: tuple[int, ...], snap: bool = True) -> None:
        self.hints.set_colour(rgb, snap)

    def clear_hints(self) -> None:
        self.hints.clear()

    def export_dialog(self, compare: bool = False) -> None:
        self.exports.export_dialog(compare)

    def batch_export_dialog(self) -> None:
        self.exports.batch_export_dialog()

    def export_current(self, opts):  # noqa: ANN001, ANN201 - ExportOptions -> job id | None
        return self.exports.export_current(opts)

    def batch_export(self, opts):  # noqa: ANN001, ANN201 - ExportOptions -> job id | None
        return self.exports.batch_export(opts)

    def plan_batch(self, opts, keep_existing: bool = False):  # noqa: ANN001, ANN201
        return self.exports.plan_batch(opts, keep_existing)

    def ask_overwrite(self, existing: list[Path]) -> str:
        return self.exports.ask_overwrite(existing)

    # ----- construction -----
    def _build_central(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 0)
        lay.setSpacing(4)
        self.banner = Banner()
        lay.addWidget(self.banner)
        self.stack = QStackedWidget()
        self.welcome = self._build_welcome()
        self.canvas = BeforeAfterCanvas()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.canvas)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.canvas.viewChanged.connect(self._update_zoom_label)

    def _build_docks(self) -> None:
        area = Qt.DockWidgetArea
        self.film_dock = self._dock("Photos", self.filmstrip, area.BottomDockWidgetArea)
        self.hints_dock = self._dock("Hints", self.hints.widget, area.RightDockWidgetArea)
        self.preprocess = PreprocessPanel()
        self.preprocess.stepsChanged.connect(self._steps_changed)
        scroll = QScrollArea()
        scroll.setWidget(self.preprocess)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.preprocess.sizeHint().width() + 20)
        self.pre_dock = self._dock("Preprocessing", scroll, area.RightDockWidgetArea)
        self.tabifyDockWidget(self.hints_dock, self.pre_dock)
        self.hints_dock.raise_()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(f"dock-{title.lower()}")
        d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

    def current_card(self) -> ModelCard | None:
        return self.engine.cards().get(self.model_id) if self.model_id else None

    # ----- showing a photo -----
    def select_document(self, doc: Document) -> None:
        row = self.docs.index(doc)
        if self.filmstrip.currentRow() != row:
            self.filmstrip.setCurrentRow(row)  # -> select_document again
            return
        if doc is not self.current:
            self.banner.dismiss_unless(doc)  # an error about another photo is stale now
        self.current = doc
        self.undo_group.setActiveStack(doc.undo)
        self.stack.setCurrentWidget(self.canvas)
        self.setWindowTitle(f"{doc.name} — ColorStudio")
        if not doc.loaded:
            self.canvas.clear()
            self.size_label.setText("loading…")
            if doc.load_job is None:
                doc.load_job = self.engine.submit(lambda ctx, p=doc.path: prepare(p),
                                                  JobKind.LOAD)
                self.jobs.add(doc.load_job, JobKind.LOAD, doc)
        else:
            self._show_document(doc)
            if doc.evicted and self.model_id is not None:
                self.colourise(doc)  # its result was dropped to save memory: make it again
        self._update_actions()

    def close_current(self) -> None:
        doc = self.current
        if doc is None:
            return
        row = self.photos.remove(doc)
        self.current = None
        if self.docs:
            self.filmstrip.setCurrentRow(-1)
            self.filmstrip.setCurrentRow(min(row, len(self.docs) - 1))
        else:
            self.canvas.clear()
            self.stack.setCurrentWidget(self.welcome)
            self.setWindowTitle("ColorStudio")
            self.size_label.setText("")
        self._update_actions()

    def _doc_loaded(self, doc: Document, prepared: tuple) -> None:
        doc.load_job = None
        doc.error = ""
        image, proxy, before_pyr = prepared
        doc.set_image(image, proxy, before_pyr if not doc.steps else None)
        self.photos.opened(doc, True)
        for w in image.warnings:
            self.statusBar().showMessage(w, 8000)
        try:
            note = doc.read_sidecar()  # hints (original coordinates) and their recipe
            if note:
                self.statusBar().showMessage(note, 6000)
        except ColorStudioError as exc:
            self.banner.show_message(f"{exc} — the hints were not loaded.", "error",
                                     source=doc)
        if doc.steps:
            self._submit_pre(doc)
        assert doc.proxy_l is not None
        self.photos.set_thumb(doc, l_to_grey8(doc.proxy_l))
        if doc is self.current:
            self._show_document(doc)
            if self.model_id is not None:
                self.colourise()

    def _show_size(self, doc: Document) -> None:
        assert doc.image is not None
        w, h = doc.space_size()
        self.size_label.setText(f"{w} × {h} px · "
                                f"{16 if doc.image.dtype == np.uint16 else 8}-bit")

    def _show_document(self, doc: Document) -> None:
        self._set_before(doc)
        if doc.result is not None:
            self._set_after_result(doc)
        elif doc.preview_rgb8 is not None:
            self.canvas.set_after(Pyramid(doc.preview_rgb8), doc.preview_rgb8)
        else:
            self.canvas.set_after(None)
        self.canvas.set_hints(doc.hints)
        self.preprocess.set_steps(doc.steps)
        self._show_size(doc)
        self.hints.update_count()
        self.documentShown.emit(doc)

    def _set_before(self, doc: Document) -> None:
        """The original side: the full-resolution pyramid when the worker has built it,
        the (small) proxy meanwhile."""
        w, h = doc.space_size()
        pyr = doc.before_pyr
        if pyr is None:
            assert doc.processed_proxy is not None
            pyr = Pyramid.of_lightness(doc.processed_proxy)
        self.canvas.set_before(pyr, w, h, doc.geometry())

    def _set_after_result(self, doc: Document) -> None:
        assert doc.result is not None
        if doc.after_pyr is None:
            doc.after_pyr = Pyramid(doc.result.rgb8)
        self.canvas.set_after(doc.after_pyr, doc.result.rgb8)

    # ----- preprocessing and colourisation -----
    def _steps_changed(self, steps: tuple) -> None:
        doc = self.current
        if doc is None or not doc.loaded:
            return
        doc.set_steps(steps)
        if doc.needs_sidecar:
            self.hints.save(doc)  # the sidecar records the recipe with the hints
        doc.result = doc.after_pyr = doc.preview_rgb8 = None
        self._set_before(doc)
        self._show_size(doc)
        if steps:
            self._submit_pre(doc)
        if self.model_id is not None:
            self.request_preview(doc.hints)
            self.schedule_full()

    def _submit_pre(self, doc: Document) -> None:
        """The full-resolution preprocessed L* (once per recipe: `doc.source`) and its
        pyramid, in the background."""
        source, steps = doc.source, doc.steps
        assert source is not None

        def job(ctx):  # noqa: ANN001, ANN202 - worker side
            processed = source.get(steps)
            ctx.check()
            return processed, Pyramid.of_lightness(processed)

        jid = self.engine.submit(job, JobKind.PREPROCESS, latest_key=f"pre-{id(doc)}")
        self.jobs.add(jid, JobKind.PREPROCESS, doc)

    def schedule_full(self) -> None:
        """The full-resolution job, once the painting pauses."""
        self._full_timer.start()

    def colourise(self, doc: Document | None = None, latest: bool = False) -> int | None:
        """Colourise the photo at full resolution in the background; -> job id."""
        doc = doc or self.current
        if doc is None or not doc.loaded or self.model_id is None:
            if self.model_id is None:
                self.refresh_models()
            return None
        self._full_timer.stop()
        assert doc.image is not None
        req = ColorizeRequest(l_star=doc.image.l_star, model_id=self.model_id,
                              hints=doc.view_hints(), steps=doc.steps, display=Pyramid,
                              source=doc.source, strength=doc.strength, reference=doc.reference)
        jid = self.engine.colorize(req, latest_key="full" if latest else None)
        self.jobs.add(jid, JobKind.COLORIZE, doc, doc.key(self.model_id))
        doc.result_key = None
        self.show_progress(0.0, f"Colourising {doc.name}…")
        self._update_actions()
        return jid

    def request_preview(self, hints: HintSet) -> int | None:
        doc = self.current
        if (doc is None or not doc.loaded or self.model_id is None
                or doc.processed_proxy is None):
            return None
        card = self.current_card()
        size = min(PREVIEW_SIZE, card.working_size) if card is not None else PREVIEW_SIZE
        req = ColorizeRequest(l_star=doc.processed_proxy, model_id=self.model_id,
                              hints=doc.view_hints(hints), size=size, preprocessed=True,
                              scale=doc.proxy_scale, solve_size=size, strength=doc.strength,
                              reference=doc.reference)
        jid = self.engine.preview(req)
        self.jobs.add(jid, JobKind.PREVIEW, doc)
        return jid

    def cancel_jobs(self) -> None:
        for job in self.jobs.cancellable():
            self.engine.cancel(job.id)

    # ----- the engine's answers -----
    def show_progress(self, frac: float, text: str) -> None:
        self.progress.show()
        self.cancel_button.show()
        self.progress.setValue(int(frac * 1000))
        self.statusBar().showMessage(text)

    def _job_progress(self, jid: int, frac: float, msg: str) -> None:
        job = self.jobs.started(jid)
        if job is not None and job.kind in (JobKind.COLORIZE, JobKind.EXPORT):
            self.progress.setValue(int(frac * 1000))
            if msg:
                self.statusBar().showMessage(msg)

    def _job_done(self, jid: int, state: JobState) -> Job | None:
        job = self.jobs.end(jid, state)
        if not self.jobs.user_facing():
            self.progress.hide()
            self.cancel_button.hide()
        self._update_actions()
        if job is not None:
            self.jobEnded.emit(jid, state.value)
        return job

    def _job_finished(self, jid: int, result: object) -> None:
        job = self._job_done(jid, JobState.FINISHED)
        if job is None:
            return
        doc, kind = job.doc, job.kind
        if kind is JobKind.EXPORT:
            self.exports.exported(result)  # type: ignore[arg-type]
        elif doc is None:
            return
        elif kind is JobKind.LOAD:
            self._doc_loaded(doc, result)  # type: ignore[arg-type]
        elif kind is JobKind.THUMB and doc in self.docs:
            self.photos.opened(doc, True)
            self.photos.set_thumb(doc, result)  # type: ignore[arg-type]
        elif kind is JobKind.PREPROCESS and self.jobs.is_latest(job):
            doc.processed_full, doc.before_pyr = result  # type: ignore[misc]
            if doc is self.current and doc.space_size()[::-1] == doc.processed_full.shape:
                self._set_before(doc)
        elif kind is JobKind.PREVIEW and self.jobs.is_latest(job) and doc is self.current:
            assert isinstance(result, ColorizeResult)
            doc.preview_rgb8 = result.rgb8
            self.canvas.set_after(Pyramid(result.rgb8), result.rgb8)
            self.previewShown.emit(doc)
        elif kind is JobKind.COLORIZE:
            assert isinstance(result, ColorizeResult)
            if job.key is not None and job.key[2] != doc.steps:
                return  # made for an older preprocessing recipe; a newer job is coming
            self._colourised(doc, result, job.key)

    def _colourised(self, doc: Document, result: ColorizeResult, key: tuple | None) -> None:
        self.jobs.keep_result(doc, result, key)
        self.jobs.prune(self.current)
        self.statusBar().showMessage(f"Colourised {doc.name} with {result.model_id}", 5000)
        for m in result.messages:
            self.banner.show_message(m, "info", source=doc)
        self.photos.set_thumb(doc, result.rgb8)
        if doc is self.current:
            if result.l_star.shape == doc.space_size()[::-1]:
                if doc.processed_full is None:  # the sharp "before" comes from the pre job
                    doc.processed_full = result.l_star
                self._set_after_result(doc)
            self.resultShown.emit(doc)

    def _job_failed(self, jid: int, message: str) -> None:
        job = self._job_done(jid, JobState.FAILED)
        if job is None:
            return
        doc = job.doc
        if job.kind in (JobKind.LOAD, JobKind.THUMB) and doc is not None:
            self.photos.failed(doc, message)
        if job.kind is JobKind.LOAD and doc is not None:
            doc.load_job = None
            if doc is self.current:
                self.size_label.setText("")
        if job.kind is JobKind.THUMB or (job.kind is JobKind.LOAD and doc is not self.current):
            return  # said when the user moves to that photo (it is read again then)
        self.banner.show_message(message, "error", source=doc)
        self.statusBar().clearMessage()

    def _job_cancelled(self, jid: int) -> None:
        job = self._job_done(jid, JobState.CANCELLED)
        if job is None:
            return
        if job.kind in (JobKind.COLORIZE, JobKind.EXPORT):
            self.statusBar().showMessage("Cancelled.", 4000)
        if job.kind is JobKind.LOAD and job.doc is not None:
            job.doc.load_job = None

    # ----- misc -----
    def _update_actions(self) -> None:
        has_doc = self.current is not None and self.current.loaded
        has_model = self.model_id is not None
        for a in (self.a_colourise, self.a_export, self.a_compare):
            a.setEnabled(has_doc and has_model)
        self.a_batch.setEnabled(bool(self.docs) and has_model)
        self.a_close.setEnabled(self.current is not None)
        self.a_cancel.setEnabled(bool(self.jobs.cancellable()))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        trainer = getattr(self.services, "_trainer", None)
        if trainer is not None:  # a training run may be going: ask before stopping it
            try:
                from .wizard import ask_stop_training  # noqa: PLC0415
            except ImportError:
                ask_stop_training = None
            if ask_stop_training is not None and not ask_stop_training(self, trainer):
                event.ignore()
                return
        self.save_settings()
        self._full_timer.stop()
        self.hints.stop()
        if self._manager is not None:
            self._manager.close()
        if self._wizard is not None:
            self._wizard.close()
        self.services.shutdown()
        event.accept()
