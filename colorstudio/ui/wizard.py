"""The training wizard: fine-tune a model on the user's own colour photos, in four pages.

1. Photos: choose or drop a folder; it is scanned in the background (usable colour photos,
   skipped grey ones, unreadable files, thumbnails); too few photos give a warning.
2. Options: base model (the current default first), time budget or epochs, device,
   unpaired adaptation to a folder of genuine black-and-white scans, advanced options folded.
3. Training: loss curves, images/s, ETA, before/after previews of held-out photos refreshed
   while it trains; pause/resume and cancel (the checkpoint is kept; "Resume" continues).
4. Result: base vs fine-tuned metrics on the held-out photos, side-by-side previews; save
   under a name (the model manager sees it at once) or discard.

`TrainingWizard(parent, services)`: `services.trainer` is a `train.service.TrainingService`
(injected by `colorstudio/app.py`; this module never imports torch); `services.
models_changed()` (optional) is called after a model is saved. The wizard is modeless: the
app stays usable while it trains.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QMessageBox, QProgressBar, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget, QWizard, QWizardPage)

from .wizard_setup import FolderPage, OptionsPage
from .wizard_widgets import (MIN_PHOTOS, PAGE_FOLDER, PAGE_LIVE, PAGE_OPTIONS, PAGE_RESULT,
                             DropZone, LossCurve, PreviewGrid, _fmt_time, _note, _pixmap,
                             base_label)

__all__ = ["MIN_PHOTOS", "PAGE_FOLDER", "PAGE_LIVE", "PAGE_OPTIONS", "PAGE_RESULT", "DropZone",
           "FolderPage", "LivePage", "LossCurve", "OptionsPage", "PreviewGrid", "ResultPage",
           "TrainingWizard", "ask_stop_training", "base_label"]


class LivePage(QWizardPage):
    def __init__(self, wiz: TrainingWizard) -> None:
        super().__init__()
        self.wiz = wiz
        self.setTitle("Training")
        self.setSubTitle("The app stays usable while this runs. The previews show held-out "
                         "photos the model never trains on.")
        self.done = False
        self.running = False
        lay = QVBoxLayout(self)
        self.status = QLabel("Starting…")
        lay.addWidget(self.status)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        lay.addWidget(self.bar)
        self.stats = QLabel(" ")
        lay.addWidget(self.stats)
        mid = QHBoxLayout()
        self.curve = LossCurve()
        mid.addWidget(self.curve, 1)
        self.previews = PreviewGrid()
        mid.addWidget(self.previews, 0, Qt.AlignmentFlag.AlignTop)
        lay.addLayout(mid, 1)
        self.message = _note()
        self.message.setVisible(False)
        lay.addWidget(self.message)
        buttons = QHBoxLayout()
        self.pause = QPushButton("Pause")
        self.cancel = QPushButton("Stop")
        self.resume = QPushButton("Resume training")
        self.resume.setVisible(False)
        buttons.addStretch(1)
        buttons.addWidget(self.pause)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.resume)
        lay.addLayout(buttons)

        self.pause.clicked.connect(self._toggle_pause)
        self.cancel.clicked.connect(self._cancel)
        self.resume.clicked.connect(lambda: self.start(resume=True))
        t = wiz.trainer
        wiz.link(t.phase, self.status.setText)
        wiz.link(t.progress, self._progress)
        wiz.link(t.losses, self.curve.add)
        wiz.link(t.baseline, self._baseline)
        wiz.link(t.preview, self.previews.set_now)
        wiz.link(t.pausedChanged, self._paused)
        wiz.link(t.finished, self._finished)
        wiz.link(t.failed, self._failed)
        wiz.link(t.cancelled, self._cancelled)
        self.t_start = 0.0
        self.minutes = 0.0

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        self.start(resume=self.wiz.options_page.resume.isChecked()
                   and self.wiz.options_page.resume.isVisible())

    def start(self, resume: bool = False) -> None:
        opts = self.wiz.options_page.options()
        self.minutes = opts.get("minutes", 0.0)
        self.done = False
        self.running = True
        if not resume:
            self.curve.clear()
        self.message.setVisible(False)
        self.status.setText("Starting…")
        self.bar.setValue(0)
        self.pause.setText("Pause")
        self.pause.setEnabled(True)
        self.cancel.setEnabled(True)
        self.resume.setVisible(False)
        self.completeChanged.emit()
        try:
            self.wiz.trainer.start(opts, resume=resume, scan=self.wiz.folder_page.scan)
        except Exception as exc:  # noqa: BLE001 - e.g. a run still stopping: one line, no trace
            self._failed(str(exc))

    def _progress(self, step: int, total: int, ips: float, eta: float) -> None:
        done = step / total if total else 0.0
        if eta > 0:
            # Time budgets: the fraction of the budget used, from the loop's own estimate.
            done = max(done, 1.0 - eta / max(eta + 1e-9, self.minutes * 60)) if self.minutes \
                else done
        self.bar.setValue(int(1000 * min(done, 1.0)))
        self.stats.setText(f"step {step}  ·  {ips:.1f} images/s  ·  ETA {_fmt_time(eta)}")

    def _baseline(self, metrics: dict, rows: Any) -> None:
        self.previews.set_before(rows)

    def _toggle_pause(self) -> None:
        t = self.wiz.trainer
        t.resume() if t.is_paused() else t.pause()

    def _paused(self, paused: bool) -> None:
        self.pause.setText("Resume" if paused else "Pause")
        if paused:
            self.status.setText("Paused (the time budget is paused too)")

    def _cancel(self) -> None:
        self.cancel.setEnabled(False)
        self.pause.setEnabled(False)
        self.status.setText("Stopping after this step…")
        self.wiz.trainer.cancel()

    def _stopped(self) -> None:
        self.running = False
        self.pause.setEnabled(False)
        self.cancel.setEnabled(False)

    def _finished(self, result: Any) -> None:
        self._stopped()
        self.done = True
        self.bar.setValue(1000)
        self.stats.setText(f"step {result.steps}  ·  finished")
        self.status.setText(f"Finished: {result.steps} steps in {_fmt_time(result.seconds)}.")
        self.completeChanged.emit()
        if self.wiz.currentId() == PAGE_LIVE:
            self.wiz.next()

    def _failed(self, message: str) -> None:
        self._stopped()
        self.status.setText("Training failed.")
        self.message.setStyleSheet(_note(kind="error").styleSheet())
        self.message.setText(message)
        self.message.setVisible(True)
        self.completeChanged.emit()

    def _cancelled(self, step: int) -> None:
        self._stopped()
        self.status.setText(f"Stopped at step {step}.")
        # The step line showed the last logged step (the loop logs every few): the same
        # number as the status now, and no ETA for a stopped run.
        self.stats.setText(f"step {step}  ·  stopped")
        self.message.setStyleSheet(_note(kind="warning").styleSheet())
        self.message.setText("No model was written. The checkpoint is kept: “Resume training” "
                             "continues from it.")
        self.message.setVisible(True)
        self.resume.setVisible(True)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.done

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        return self.done and not self.running


class ResultPage(QWizardPage):
    ROWS = (("PSNR (dB, higher is better)", "psnr", 2, 1),
            ("SSIM (higher is better)", "ssim", 4, 1),
            ("CIEDE2000 (lower is better)", "ciede2000", 2, -1),
            ("Colourfulness", "colourfulness", 1, 0))

    def __init__(self, wiz: TrainingWizard) -> None:
        super().__init__()
        self.wiz = wiz
        self.setTitle("Result")
        self.setFinalPage(True)
        lay = QVBoxLayout(self)
        self.table = QTableWidget(len(self.ROWS), 3)
        self.table.setHorizontalHeaderLabels(["Base model", "Fine-tuned", "Change"])
        self.table.setVerticalHeaderLabels([r[0] for r in self.ROWS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setFixedHeight(self.table.verticalHeader().length()
                                  + self.table.horizontalHeader().sizeHint().height()
                                  + 2 * self.table.frameWidth())
        lay.addWidget(self.table)
        self.caption = QLabel("Base model  |  fine-tuned  |  original")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.caption)
        self.compare = QHBoxLayout()
        lay.addLayout(self.compare, 1)
        self.compare_labels: list[QLabel] = []
        form = QFormLayout()
        self.name = QLineEdit()
        form.addRow("Save as", self.name)
        lay.addLayout(form)
        self.error = _note(kind="error")
        self.error.setVisible(False)
        lay.addWidget(self.error)
        row = QHBoxLayout()
        self.discard = QPushButton("Discard this model")
        row.addStretch(1)
        row.addWidget(self.discard)
        lay.addLayout(row)
        self.discard.clicked.connect(self._discard)
        self.name.textChanged.connect(self._name_changed)
        self.saved_card: Any = None

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        res = self.wiz.trainer.result
        if res is None:
            return
        b, a = res.before, res.after
        gain = res.gain_db
        self.setSubTitle(f"Measured on {res.held_count} held-out photos the model never saw "
                         f"(trained on {res.train_count}). PSNR "
                         + (f"{gain:+.2f} dB." if gain is not None else "not measured."))
        for r, (_, key, nd, better) in enumerate(self.ROWS):
            vb, va = getattr(b, key), getattr(a, key)
            d = va - vb
            items = [QTableWidgetItem(f"{vb:.{nd}f}"), QTableWidgetItem(f"{va:.{nd}f}"),
                     QTableWidgetItem(f"{d:+.{nd}f}")]
            if better and abs(d) > 10 ** -nd:
                good = (d > 0) == (better > 0)
                items[2].setForeground(QColor("#2e9d4f") if good else QColor("#d04040"))
            for c, it in enumerate(items):
                it.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, it)
        for lab in self.compare_labels:
            lab.deleteLater()
        self.compare_labels = []
        for arr in res.comparison[:2]:
            lab = QLabel()
            lab.setPixmap(_pixmap(arr).scaledToWidth(
                360, Qt.TransformationMode.SmoothTransformation))
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.compare.addWidget(lab)
            self.compare_labels.append(lab)
        self.name.setText(res.name)

    def _name_changed(self, text: str) -> None:
        msg = self.wiz.trainer.check_name(text)
        self.error.setText(msg)
        self.error.setVisible(bool(msg))
        self.completeChanged.emit()
        # QWizard leaves Finish enabled on a final page reached by next() from a slot; say it.
        self.wiz.button(QWizard.WizardButton.FinishButton).setEnabled(self.isComplete())

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.wiz.trainer.result is not None and not self.error.isVisible()

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        try:
            self.saved_card = self.wiz.trainer.save(self.name.text().strip())
        except Exception as exc:  # noqa: BLE001 - ColorStudioError etc.: one line for the user
            self.error.setText(str(exc))
            self.error.setVisible(True)
            return False
        self.wiz.modelSaved.emit(self.saved_card)
        notify = getattr(self.wiz.services, "models_changed", None)
        if callable(notify):
            notify()
        return True

    def _discard(self) -> None:
        self.wiz.trainer.discard()
        self.wiz.discarded = True
        self.wiz.reject()


# ----------------------------------------------------------------------------- the wizard

class TrainingWizard(QWizard):
    """Modeless wizard; `services.trainer` is the `TrainingService` from `colorstudio/app.py`."""

    modelSaved = Signal(object)  # the new ModelCard

    def __init__(self, parent: QWidget | None, services: Any) -> None:
        super().__init__(parent)
        self.services = services
        self.trainer = services.trainer
        self._links: list[tuple[Any, Any]] = []
        self.discarded = False
        self.setWindowTitle("Train on my photos")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, False)
        self.setModal(False)
        self.folder_page = FolderPage(self)
        self.options_page = OptionsPage(self)
        self.live_page = LivePage(self)
        self.result_page = ResultPage(self)
        self.setPage(PAGE_FOLDER, self.folder_page)
        self.setPage(PAGE_OPTIONS, self.options_page)
        self.setPage(PAGE_LIVE, self.live_page)
        self.setPage(PAGE_RESULT, self.result_page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Save model")
        self.setButtonText(QWizard.WizardButton.NextButton, "Next")
        self.currentIdChanged.connect(self._page_changed)
        # After QWizard's own button update (connected in setPage): Back follows our rules.
        for page in (self.folder_page, self.options_page, self.live_page, self.result_page):
            page.completeChanged.connect(self._sync_back)
        self.resize(820, 640)

    def link(self, signal: Any, slot: Any) -> None:
        """Connect a signal of the (long-lived, shared) trainer; cut when the wizard closes."""
        signal.connect(slot)
        self._links.append((signal, slot))

    def unlink(self) -> None:
        for signal, slot in self._links:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        self._links.clear()

    def done(self, result: int) -> None:  # accept / reject / close all end here
        self.unlink()
        super().done(result)

    def _page_changed(self, page_id: int) -> None:
        if page_id == PAGE_OPTIONS:
            self.setButtonText(QWizard.WizardButton.NextButton, "Start training")
        else:
            self.setButtonText(QWizard.WizardButton.NextButton, "Next")
        self._sync_back()

    def back_allowed(self) -> bool:
        """Back: not on the first page (nothing before it), not while a run is active (going
        back would stop it; its options are fixed), not from the result (nothing to redo)."""
        page_id = self.currentId()
        if page_id in (-1, self.startId(), PAGE_RESULT) or len(self.visitedIds()) < 2:
            return False
        return not (page_id == PAGE_LIVE and self.live_page.running)

    def _sync_back(self) -> None:
        self.button(QWizard.WizardButton.BackButton).setEnabled(self.back_allowed())

    def cleanupPage(self, page_id: int) -> None:  # noqa: N802 - Qt API
        if page_id == PAGE_LIVE and self.trainer.is_running():
            self.trainer.cancel()
        super().cleanupPage(page_id)

    def ask(self, text: str) -> bool:
        return QMessageBox.question(self, "Train on my photos", text) == \
            QMessageBox.StandardButton.Yes

    def reject(self) -> None:
        if self.trainer.is_running():
            if not self.ask("Training is still running. Stop it? The checkpoint is kept, so "
                            "you can resume later; no model is written."):
                return
            self.unlink()  # no late signals into a closing wizard
            self.trainer.shutdown()
        elif self.trainer.result is not None and not self.discarded:
            if not self.ask("Discard the model you just trained?"):
                return
            self.trainer.discard()
        super().reject()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        if self.trainer.is_running() or (self.trainer.result is not None and not self.discarded):
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)


def ask_stop_training(parent: QWidget | None, trainer: Any) -> bool:
    """For the main window's closeEvent: True when the app may close (training, if any, was
    stopped cleanly after the user agreed; its checkpoint is kept)."""
    if trainer is None or not trainer.is_running():
        return True
    answer = QMessageBox.question(
        parent, "ColorStudio", "A training run is in progress. Stop it and quit? The "
        "checkpoint is kept, so you can resume it later from the training wizard.")
    if answer != QMessageBox.StandardButton.Yes:
        return False
    trainer.shutdown()
    return True
