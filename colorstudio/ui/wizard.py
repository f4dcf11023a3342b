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

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QDragEnterEvent, QDropEvent, QFont, QImage, QPainter,
                           QPainterPath, QPalette, QPen, QPixmap)
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QCheckBox, QComboBox,
                               QDoubleSpinBox, QFileDialog, QFormLayout, QFrame, QGridLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QMessageBox, QProgressBar, QPushButton,
                               QRadioButton, QSizePolicy, QSpinBox, QTableWidget,
                               QTableWidgetItem, QToolButton, QVBoxLayout, QWidget, QWizard,
                               QWizardPage)

PAGE_FOLDER, PAGE_OPTIONS, PAGE_LIVE, PAGE_RESULT = range(4)
MIN_PHOTOS = 4  # the same threshold as train.finetune (kept here: no torch import)


def _pixmap(arr: np.ndarray) -> QPixmap:
    """uint8 (H, W, 3) RGB -> QPixmap (copied)."""
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    img = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(img.copy())


def _fmt_time(seconds: float) -> str:
    s = int(max(seconds, 0))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


_DEFAULT_MARK = re.compile(r"\s*\(default\)", re.IGNORECASE)


def base_label(name: str, is_default: bool) -> str:
    """A model's entry in "Start from": its name with one "(default)" marker, on the default
    only (bundled cards are named "Guided U-Net (default)"; a former default is not)."""
    plain = _DEFAULT_MARK.sub("", name).strip() or name.strip()
    return plain + ("  (default)" if is_default else "")


def _note(text: str = "", kind: str = "") -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(True)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if kind == "warning":
        lab.setStyleSheet("QLabel { background: rgba(230, 160, 0, 0.18); border-radius: 4px;"
                          " padding: 6px; }")
    elif kind == "error":
        lab.setStyleSheet("QLabel { background: rgba(220, 50, 50, 0.18); border-radius: 4px;"
                          " padding: 6px; }")
    return lab


# ----------------------------------------------------------------------------- widgets

class LossCurve(QWidget):
    """Loss curves on a log axis, drawn with QPainter: a smoothed line per loss term, the raw
    total faint behind it. `add(step, losses)` appends; `clear()` starts over."""

    COLOURS = ("#3a7bd5", "#e0803a", "#3aa66a", "#c0457a", "#8a63d2", "#6b8e23")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: dict[str, list[tuple[int, float]]] = {}
        self.smooth: dict[str, list[tuple[int, float]]] = {}
        self.setMinimumSize(320, 170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def add(self, step: int, losses: dict[str, float]) -> None:
        for k, v in losses.items():
            if not math.isfinite(v) or v <= 0:
                continue
            self.series.setdefault(k, []).append((step, v))
            prev = self.smooth.get(k)
            s = v if not prev else 0.8 * prev[-1][1] + 0.2 * v
            self.smooth.setdefault(k, []).append((step, s))
        self.update()

    def clear(self) -> None:
        self.series.clear()
        self.smooth.clear()
        self.update()

    def point_count(self) -> int:
        return sum(len(v) for v in self.series.values())

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        text = pal.color(QPalette.ColorRole.Text)
        grid = QColor(text)
        grid.setAlpha(40)
        fm = p.fontMetrics()
        left, right, top, bottom = fm.horizontalAdvance("0.000 ") + 6, 10, 10, fm.height() + 8
        plot = QRectF(left, top, self.width() - left - right, self.height() - top - bottom)
        pts = [pt for s in self.series.values() for pt in s]
        if not pts:
            p.setPen(text)
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "The loss curve appears here")
            return
        steps = [s for s, _ in pts]
        x0, x1 = min(steps), max(max(steps), min(steps) + 1)
        logs = [math.log10(v) for _, v in pts]
        y0, y1 = min(logs), max(logs)
        if y1 - y0 < 0.05:
            y0, y1 = y0 - 0.05, y1 + 0.05
        pad = 0.05 * (y1 - y0)
        y0, y1 = y0 - pad, y1 + pad

        def xy(step: float, value: float) -> QPointF:
            x = plot.left() + (step - x0) / (x1 - x0) * plot.width()
            y = plot.bottom() - (math.log10(value) - y0) / (y1 - y0) * plot.height()
            return QPointF(x, y)

        p.setPen(QPen(grid, 1))
        for i in range(5):
            ly = y0 + (y1 - y0) * i / 4
            y = plot.bottom() - plot.height() * i / 4
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(text)
            p.drawText(QRectF(0, y - fm.height() / 2, left - 4, fm.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"{10 ** ly:.3g}")
            p.setPen(QPen(grid, 1))
        p.setPen(text)
        p.drawText(QRectF(plot.left(), plot.bottom() + 4, plot.width(), fm.height()),
                   Qt.AlignmentFlag.AlignLeft, f"step {x0}")
        p.drawText(QRectF(plot.left(), plot.bottom() + 4, plot.width(), fm.height()),
                   Qt.AlignmentFlag.AlignRight, f"step {x1}")
        names = sorted(self.series, key=lambda k: (k != "loss", k))
        raw = self.series.get("loss") or self.series[names[0]]
        faint = QColor(self.COLOURS[0])
        faint.setAlpha(60)
        self._line(p, [xy(s, v) for s, v in raw], QPen(faint, 1))
        lx = plot.left() + 8
        for i, name in enumerate(names):
            colour = QColor(self.COLOURS[i % len(self.COLOURS)])
            pts = [xy(s, v) for s, v in self.smooth[name]]
            self._line(p, pts, QPen(colour, 2.2 if name == "loss" else 1.4))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawEllipse(pts[-1], 3.0, 3.0)  # the latest value (visible from the first point)
            label = f"{name} {self.series[name][-1][1]:.3g}"
            p.setPen(QPen(colour, 3))
            p.drawLine(QPointF(lx, plot.top() + 9), QPointF(lx + 14, plot.top() + 9))
            p.setPen(text)
            p.drawText(QPointF(lx + 18, plot.top() + 9 + fm.ascent() / 2 - 1), label)
            lx += 30 + fm.horizontalAdvance(label)

    @staticmethod
    def _line(p: QPainter, pts: list[QPointF], pen: QPen) -> None:
        if not pts:
            return
        path = QPainterPath(pts[0])
        for pt in pts[1:]:
            path.lineTo(pt)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)


class DropZone(QFrame):
    """A framed area that accepts a dropped folder (or a file: its folder)."""

    folderDropped = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("dropZone")
        self.setStyleSheet("#dropZone { border: 2px dashed palette(mid); border-radius: 8px; }")

    @staticmethod
    def _folder(event: QDragEnterEvent | QDropEvent) -> Path | None:
        md = event.mimeData()
        if not md.hasUrls():
            return None
        for url in md.urls():
            if url.isLocalFile():
                p = Path(url.toLocalFile())
                if p.is_dir():
                    return p
                if p.is_file():
                    return p.parent
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if self._folder(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        folder = self._folder(event)
        if folder is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.folderDropped.emit(folder)


class PreviewGrid(QWidget):
    """Held-out photos: black-and-white input | base model | fine-tuned (now) | original."""

    HEADERS = ("Black & white", "Base model", "Fine-tuned", "Original")

    def __init__(self, cell: int = 92, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cell = cell
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(4)
        for c, h in enumerate(self.HEADERS):
            lab = QLabel(h)
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.grid.addWidget(lab, 0, c)
        self.cells: list[list[QLabel]] = []
        self.before: np.ndarray | None = None
        self.updates = 0
        self.last_step = -1

    def _cells(self, rows: int) -> None:
        while len(self.cells) < rows:
            r = len(self.cells) + 1
            line = []
            for c in range(4):
                lab = QLabel()
                lab.setFixedSize(self.cell, self.cell)
                lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
                lab.setStyleSheet("QLabel { background: palette(base); }")
                self.grid.addWidget(lab, r, c)
                line.append(lab)
            self.cells.append(line)

    @staticmethod
    def _split(rows: np.ndarray) -> list[list[np.ndarray]]:
        s = rows.shape[1] // 3
        return [[rows[i * s:(i + 1) * s, j * s:(j + 1) * s] for j in range(3)]
                for i in range(rows.shape[0] // s)]

    def _put(self, r: int, c: int, arr: np.ndarray) -> None:
        self.cells[r][c].setPixmap(_pixmap(arr).scaled(
            self.cell, self.cell, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))

    def set_before(self, rows: np.ndarray | None) -> None:
        """The base model's rows (grey | base | truth); also shown as "now" until training."""
        self.before = rows
        if rows is None:
            return
        parts = self._split(rows)
        self._cells(len(parts))
        for r, (grey, base, truth) in enumerate(parts):
            self._put(r, 0, grey)
            self._put(r, 1, base)
            self._put(r, 2, base)
            self._put(r, 3, truth)

    def set_now(self, step: int, rows: np.ndarray) -> None:
        parts = self._split(rows)
        self._cells(len(parts))
        for r, (grey, now, truth) in enumerate(parts):
            self._put(r, 0, grey)
            self._put(r, 2, now)
            self._put(r, 3, truth)
        self.updates += 1
        self.last_step = step


# ----------------------------------------------------------------------------- pages

class FolderPage(QWizardPage):
    def __init__(self, wiz: TrainingWizard) -> None:
        super().__init__()
        self.wiz = wiz
        self.setTitle("Your colour photos")
        self.setSubTitle("Choose a folder of colour photos like your black-and-white ones (the "
                         "same streets, uniforms, costumes). A few are kept aside to measure "
                         "the result.")
        self.scan: Any = None
        self.scanning = False
        lay = QVBoxLayout(self)
        self.drop = DropZone()
        dl = QHBoxLayout(self.drop)
        hint = QLabel("Drop a folder here, or")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.choose = QPushButton("Choose folder…")
        dl.addStretch(1)
        dl.addWidget(hint)
        dl.addWidget(self.choose)
        dl.addStretch(1)
        self.drop.setMinimumHeight(64)
        lay.addWidget(self.drop)
        self.path = QLineEdit()
        self.path.setPlaceholderText("Folder of colour photos")
        lay.addWidget(self.path)
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        lay.addWidget(self.bar)
        self.counts = QLabel("No folder chosen yet.")
        f = QFont(self.counts.font())
        f.setBold(True)
        self.counts.setFont(f)
        lay.addWidget(self.counts)
        self.warning = _note(kind="warning")
        self.warning.setVisible(False)
        lay.addWidget(self.warning)
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(72, 72))
        self.thumbs.setGridSize(QSize(80, 80))
        self.thumbs.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.thumbs.setMovement(QListWidget.Movement.Static)
        self.thumbs.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.thumbs.setMinimumHeight(180)
        lay.addWidget(self.thumbs, 1)

        self.choose.clicked.connect(self._browse)
        self.drop.folderDropped.connect(self.set_folder)
        self.path.returnPressed.connect(lambda: self.set_folder(Path(self.path.text())))
        self.path.editingFinished.connect(self._edited)
        t = wiz.trainer
        wiz.link(t.scanned, self._scanned)
        wiz.link(t.scanFailed, self._failed)
        wiz.link(t.scanProgress, self._progress)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder of colour photos", self.path.text())
        if d:
            self.set_folder(Path(d))

    def _edited(self) -> None:
        text = self.path.text().strip()
        if text and (self.scan is None or Path(text) != self.scan.folder) and not self.scanning:
            self.set_folder(Path(text))

    def set_folder(self, folder: Path) -> None:
        """Show `folder` and scan it in the background."""
        self.path.setText(str(folder))
        self.scan = None
        self.scanning = True
        self.thumbs.clear()
        self.warning.setVisible(False)
        self.counts.setText(f"Scanning {folder.name or folder} …")
        self.bar.setRange(0, 0)
        self.bar.setVisible(True)
        self.completeChanged.emit()
        self.wiz.trainer.scan(folder)

    def _progress(self, i: int, n: int) -> None:
        self.bar.setRange(0, max(n, 1))
        self.bar.setValue(i)

    def _failed(self, message: str) -> None:
        self.scanning = False
        self.bar.setVisible(False)
        self.counts.setText("Cannot use this folder.")
        self.warning.setText(message)
        self.warning.setVisible(True)
        self.completeChanged.emit()

    def _scanned(self, scan: Any) -> None:
        self.scanning = False
        self.scan = scan
        self.bar.setVisible(False)
        self.counts.setText(f"{len(scan.usable)} usable colour photos  ·  {len(scan.grey)} grey "
                            f"(skipped)  ·  {len(scan.unreadable)} unreadable")
        warn = scan.warning()
        self.warning.setText(warn)
        self.warning.setVisible(bool(warn))
        self.thumbs.clear()
        for arr, path in zip(scan.thumbnails, scan.usable):
            item = QListWidgetItem(_pixmap(arr), "")
            item.setToolTip(path.name)
            self.thumbs.addItem(item)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.scan is not None and len(self.scan.usable) >= MIN_PHOTOS


class OptionsPage(QWizardPage):
    def __init__(self, wiz: TrainingWizard) -> None:
        super().__init__()
        self.wiz = wiz
        self.setTitle("How to train")
        self.setSubTitle("Start from a model and choose how long to train. The defaults suit "
                         "most folders.")
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.base = QComboBox()
        form.addRow("Start from", self.base)
        budget = QWidget()
        bl = QGridLayout(budget)
        bl.setContentsMargins(0, 0, 0, 0)
        self.by_time = QRadioButton("Time budget")
        self.by_epochs = QRadioButton("Passes over the photos")
        self.group = QButtonGroup(self)
        self.group.addButton(self.by_time)
        self.group.addButton(self.by_epochs)
        self.by_time.setChecked(True)
        self.minutes = QSpinBox()
        self.minutes.setRange(1, 24 * 60)
        self.minutes.setValue(10)
        self.minutes.setSuffix(" min")
        self.epochs = QDoubleSpinBox()
        self.epochs.setRange(0.1, 10000)
        self.epochs.setDecimals(1)
        self.epochs.setValue(5)
        self.epochs.setSuffix(" epochs")
        bl.addWidget(self.by_time, 0, 0)
        bl.addWidget(self.minutes, 0, 1)
        bl.addWidget(self.by_epochs, 1, 0)
        bl.addWidget(self.epochs, 1, 1)
        form.addRow("Length", budget)
        self.device = QComboBox()
        form.addRow("Device", self.device)
        lay.addLayout(form)

        self.unpaired = QCheckBox("Adapt to genuine black-and-white scans (unpaired, CycleGAN)")
        lay.addWidget(self.unpaired)
        ub = QHBoxLayout()
        self.grey_path = QLineEdit()
        self.grey_path.setPlaceholderText("Folder of black-and-white scans")
        self.grey_browse = QPushButton("Choose…")
        ub.addWidget(self.grey_path, 1)
        ub.addWidget(self.grey_browse)
        self.grey_row = QWidget()
        self.grey_row.setLayout(ub)
        ub.setContentsMargins(24, 0, 0, 0)
        self.grey_row.setVisible(False)
        lay.addWidget(self.grey_row)
        self.unpaired_note = _note("Your scans have their own grain and tones. Unpaired "
                                   "training (CycleGAN, Zhu et al. 2017) learns to map them to the "
                                   "colour photos without matching pairs; it needs a CycleGAN "
                                   "base model.")
        self.unpaired_note.setContentsMargins(24, 0, 0, 0)
        self.unpaired_note.setVisible(False)
        lay.addWidget(self.unpaired_note)

        self.more = QToolButton()
        self.more.setText("Advanced options")
        self.more.setCheckable(True)
        self.more.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.more.setArrowType(Qt.ArrowType.RightArrow)
        self.more.setAutoRaise(True)
        lay.addWidget(self.more)
        self.advanced = QWidget()
        af = QFormLayout(self.advanced)
        af.setContentsMargins(24, 0, 0, 0)
        self.size = QSpinBox()
        self.size.setRange(16, 512)
        self.size.setSingleStep(16)
        self.size.setValue(128)
        self.size.setSuffix(" px")
        self.batch = QSpinBox()
        self.batch.setRange(2, 128)
        self.batch.setValue(16)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(0, 0.01)
        self.lr.setSingleStep(1e-5)
        self.lr.setSpecialValueText("automatic (per model)")
        self.augment = QCheckBox("Random rotations and zoom (flips always)")
        self.augment.setChecked(True)
        af.addRow("Training size", self.size)
        af.addRow("Batch size", self.batch)
        af.addRow("Learning rate", self.lr)
        af.addRow("Augmentations", self.augment)
        self.advanced.setVisible(False)
        lay.addWidget(self.advanced)
        self.resume = QCheckBox("Continue the interrupted run of this model and folder")
        self.resume.setVisible(False)
        lay.addWidget(self.resume)
        self.error = _note(kind="error")
        self.error.setVisible(False)
        lay.addWidget(self.error)
        lay.addStretch(1)

        self.more.toggled.connect(self._fold)
        self.unpaired.toggled.connect(self._unpaired)
        self.grey_browse.clicked.connect(self._browse_grey)
        self.grey_path.textChanged.connect(lambda _: self.completeChanged.emit())
        self.base.currentIndexChanged.connect(lambda _: self._check_resume())
        self.by_time.toggled.connect(self._budget)
        self._budget()

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        if self.device.count() == 0:
            for value, label in self.wiz.trainer.devices():
                self.device.addItem(label, value)
        self._fill_bases()
        self._check_resume()

    def _fill_bases(self) -> None:
        current = self.base.currentData()
        self.base.blockSignals(True)
        self.base.clear()
        cycle = self.wiz.trainer.unpaired_archs()
        default = self.wiz.trainer.default_id()
        for card in self.wiz.trainer.cards():
            if self.unpaired.isChecked() and card.arch not in cycle:
                continue
            label = base_label(card.name, card.id == default)
            self.base.addItem(label, card.id)
        i = self.base.findData(current)
        self.base.setCurrentIndex(max(i, 0))
        self.base.blockSignals(False)
        self.completeChanged.emit()

    def _fold(self, open_: bool) -> None:
        self.advanced.setVisible(open_)
        self.more.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)

    def _budget(self) -> None:
        self.minutes.setEnabled(self.by_time.isChecked())
        self.epochs.setEnabled(self.by_epochs.isChecked())

    def _unpaired(self, on: bool) -> None:
        self.grey_row.setVisible(on)
        self.unpaired_note.setVisible(on)
        self._fill_bases()
        self._check_resume()

    def _browse_grey(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder of black-and-white scans")
        if d:
            self.grey_path.setText(d)

    def _check_resume(self) -> None:
        scan = self.wiz.folder_page.scan
        base = self.base.currentData()
        ok = bool(scan and base and self.wiz.trainer.can_resume(base, scan.folder))
        self.resume.setVisible(ok)
        self.resume.setChecked(ok)

    def options(self) -> dict:
        """Keyword arguments of `train.finetune.FineTuneOptions`."""
        scan = self.wiz.folder_page.scan
        opts: dict[str, Any] = {
            "data": scan.folder, "base": self.base.currentData(), "size": self.size.value(),
            "batch": self.batch.value(), "lr": self.lr.value(),
            "augment": self.augment.isChecked(), "device": self.device.currentData() or "auto",
        }
        if self.by_time.isChecked():
            opts["minutes"] = float(self.minutes.value())
        else:
            opts["epochs"] = float(self.epochs.value())
        if self.unpaired.isChecked():
            opts["unpaired_grey"] = Path(self.grey_path.text().strip())
        return opts

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        if self.base.count() == 0:
            return False
        if self.unpaired.isChecked():
            grey = self.grey_path.text().strip()
            return bool(grey) and Path(grey).is_dir()
        return True


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
    ROWS = (("PSNR (dB, higher is better)", "psnr", 2, 1), ("SSIM (higher is better)", "ssim", 4, 1),
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
            lab.setPixmap(_pixmap(arr).scaledToWidth(360, Qt.TransformationMode.SmoothTransformation))
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
