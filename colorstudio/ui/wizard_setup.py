"""The training wizard's first two pages: the photo folder (scanned in the background) and
the options (base model, budget, device, unpaired adaptation, advanced options)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QCheckBox, QComboBox,
                               QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QProgressBar, QPushButton, QRadioButton, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget, QWizardPage)

from .wizard_widgets import MIN_PHOTOS, DropZone, _note, _pixmap, base_label

if TYPE_CHECKING:
    from .wizard import TrainingWizard


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
