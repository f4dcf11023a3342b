"""Widgets of the Hints dock's guidance rows: the colour-strength (Cautious .. Vivid) and hint
spread (Local .. Wide) sliders and the reference-photo drop zone (a thumbnail, the name,
"Choose…" and "Remove")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QImage, QPixmap
from PySide6.QtWidgets import (QFileDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QSlider,
                               QVBoxLayout, QWidget)

from ..core.imageio import READ_FORMATS

PROMPT = "Drop a colour photo of the same scene here"
THUMB_W, THUMB_H = 72, 54
STRENGTH_TIP = ("How bold the colours are. Cautious keeps to colours the model is sure of "
                "(muted where it hesitates); the middle is the model's own choice; Vivid "
                "picks the most colourful of the colours it considers likely. Hints are "
                "followed at any strength.")
SPREAD_TIP = ("How far the hints reach. In the middle a hint colours its object, up to its "
              "edges; where the photo is low in contrast and the edges are soft, move it "
              "towards Local to keep a hint near where it was painted, or towards Wide to let "
              "it flood further.")


class SettlingSlider(QWidget):
    """ends[0] [slider 0..100] ends[1], e.g. "Cautious" .. "Vivid"; `name` is the slider's
    accessible name. `changed(value)` comes once a move settles: on release of a drag, or
    `delay` ms after the last key or wheel step; `set_value` is silent."""

    changed = Signal(int)

    def __init__(self, ends: tuple[str, str], name: str, tip: str, delay: int = 300,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        self.slider.setPageStep(10)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(50)
        self.slider.setAccessibleName(name)
        self.setToolTip(tip)
        self._timer = QTimer(self, singleShot=True, interval=delay)
        self._timer.timeout.connect(self._emit)
        self.slider.valueChanged.connect(self._moved)
        self.slider.sliderReleased.connect(self._emit)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel(ends[0]))
        lay.addWidget(self.slider, 1)
        lay.addWidget(QLabel(ends[1]))
        self._sent = 50

    def value(self) -> int:
        return self.slider.value()

    def set_value(self, value: int) -> None:
        """Show `value` without emitting `changed`."""
        self._timer.stop()
        self.slider.blockSignals(True)
        self.slider.setValue(int(value))
        self.slider.blockSignals(False)
        self._sent = self.slider.value()

    def cancel(self) -> None:
        """Forget a move that has not settled yet."""
        self._timer.stop()

    def _moved(self, _value: int) -> None:
        if not self.slider.isSliderDown():
            self._timer.start()

    def _emit(self) -> None:
        self._timer.stop()
        if self.slider.value() != self._sent:
            self._sent = self.slider.value()
            self.changed.emit(self._sent)


def dropped_file(urls: list[QUrl]) -> tuple[Path | None, str]:
    """The one local file among dropped `urls` -> (path, "") or (None, why not)."""
    if len(urls) != 1:
        return None, "Drop one colour photo as the reference, not several files."
    url = urls[0]
    if not url.isLocalFile():
        return None, f"{url.toString()}: drop a photo file from this computer as the reference."
    path = Path(url.toLocalFile())
    if not path.is_file():
        return None, f"{path.name}: not a file; drop a colour photo (a file) as the reference."
    return path, ""


class ReferenceDrop(QFrame):
    """A framed zone for a reference photo. A drop of one local file, or "Choose…", emits
    `fileChosen(path)`; any other drop of URLs emits `rejected(why)` (drops never reach the
    window beneath, which would open them as photos); "Remove" emits `removed`."""

    fileChosen = Signal(Path)
    rejected = Signal(str)
    removed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setObjectName("referenceDrop")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#referenceDrop { border: 2px dashed palette(mid); "
                           "border-radius: 6px; }")
        self.setToolTip("A colour photo of the same scene (another print, a later photo): "
                        "ColorStudio matches its colours to this photo and uses them as "
                        "hints beneath yours")
        self.thumb = QLabel()
        self.thumb.setFixedSize(THUMB_W, THUMB_H)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label = QLabel(PROMPT)
        self.label.setWordWrap(True)
        self.choose = QPushButton("Choose…")
        self.choose.setToolTip("Choose a colour photo of the same scene")
        self.choose.clicked.connect(self._choose)
        self.remove = QPushButton("Remove")
        self.remove.setToolTip("Stop using the reference photo")
        self.remove.clicked.connect(self.removed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.choose)
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.label)
        right.addLayout(buttons)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.thumb)
        lay.addLayout(right, 1)
        self.start_dir = ""
        self.show_reference(None)

    def show_reference(self, path: Path | None, rgb: np.ndarray | None = None,
                       note: str = "") -> None:
        """Show `path` with a thumbnail of `rgb` ((h, w, 3) float 0..1), or the prompt."""
        self.remove.setEnabled(path is not None)
        self.thumb.setVisible(path is not None)
        if path is None:
            self.label.setText(PROMPT + (f" ({note})" if note else ""))
            self.label.setToolTip("")
            self.thumb.clear()
            return
        self.label.setText(path.name + (f" ({note})" if note else ""))
        self.label.setToolTip(str(path))
        if rgb is not None:
            arr = np.ascontiguousarray(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8))
            img = QImage(arr.data, arr.shape[1], arr.shape[0], arr.strides[0],
                         QImage.Format.Format_RGB888).copy()
            self.thumb.setPixmap(QPixmap.fromImage(img).scaled(
                THUMB_W, THUMB_H, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))

    @staticmethod
    def _has_urls(md: QMimeData) -> bool:
        return md is not None and md.hasUrls()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if self._has_urls(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt API
        if self._has_urls(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        if not self._has_urls(event.mimeData()):
            event.ignore()
            return
        event.acceptProposedAction()
        path, why = dropped_file(event.mimeData().urls())
        if path is None:
            self.rejected.emit(why)
        else:
            self.fileChosen.emit(path)

    def _choose(self) -> None:
        exts = " ".join(f"*{e}" for e in READ_FORMATS)
        name, _ = QFileDialog.getOpenFileName(self, "Reference photo", self.start_dir,
                                              f"Photos ({exts});;All files (*)")
        if name:
            self.fileChosen.emit(Path(name))
