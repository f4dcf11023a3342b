"""The preprocessing panel: one group per operation, each with its own reset button.

It edits a recipe (`core.preprocess.Step` tuple) and emits `stepsChanged(steps)` on every
change; the main window previews the recipe live on a proxy of the photo and applies it to
full-resolution L* before inference.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)

from ..core.preprocess import Step
from .theme import icon


def _dspin(lo: float, hi: float, step: float, value: float, suffix: str = "",
           decimals: int = 1) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setDecimals(decimals)
    s.setValue(value)
    s.setSuffix(suffix)
    s.setKeyboardTracking(False)
    return s


class _Group(QGroupBox):
    def __init__(self, title: str, reset: Callable[[], None]) -> None:
        super().__init__()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 4, 8, 6)
        head = QHBoxLayout()
        label = QLabel(f"<b>{title}</b>")
        self.reset_button = QToolButton()
        self.reset_button.setIcon(icon("mdi6.restore"))
        self.reset_button.setAutoRaise(True)
        self.reset_button.setToolTip(f"Reset {title.lower()}")
        self.reset_button.clicked.connect(reset)
        head.addWidget(label)
        head.addStretch(1)
        head.addWidget(self.reset_button)
        outer.addLayout(head)
        self.form = QFormLayout()
        self.form.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self.form)


class PreprocessPanel(QWidget):
    stepsChanged = Signal(object)  # tuple[Step, ...]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._quiet = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(6)

        g = self.rotate_group = _Group("Rotate", self.reset_rotate)
        self.quarter = QComboBox()
        self.quarter.addItems(["0°", "90° left", "180°", "90° right"])
        self.angle = _dspin(-45, 45, 0.1, 0, "°")
        self.angle_slider = QSlider(Qt.Orientation.Horizontal)
        self.angle_slider.setRange(-450, 450)
        g.form.addRow("Quarter turns", self.quarter)
        g.form.addRow("Straighten", self.angle)
        g.form.addRow("", self.angle_slider)
        lay.addWidget(g)

        g = self.crop_group = _Group("Crop", self.reset_crop)
        self.crop = {side: _dspin(0, 45, 0.5, 0, " %") for side in
                     ("left", "top", "right", "bottom")}
        for side, spin in self.crop.items():
            g.form.addRow(side.capitalize(), spin)
        lay.addWidget(g)

        g = self.contrast_group = _Group("Contrast", self.reset_contrast)
        self.stretch = QCheckBox("Stretch between percentiles")
        self.low = _dspin(0, 49, 0.1, 0.5, " %")
        self.high = _dspin(51, 100, 0.1, 99.5, " %")
        self.equalise = QComboBox()
        self.equalise.addItems(["None", "Histogram equalisation", "CLAHE (local)"])
        self.clip = _dspin(1, 40, 0.5, 2.0)
        self.tiles = QSpinBox()
        self.tiles.setRange(2, 32)
        self.tiles.setValue(8)
        g.form.addRow(self.stretch)
        g.form.addRow("Black point", self.low)
        g.form.addRow("White point", self.high)
        g.form.addRow("Equalise", self.equalise)
        g.form.addRow("CLAHE clip", self.clip)
        g.form.addRow("CLAHE tiles", self.tiles)
        lay.addWidget(g)

        g = self.denoise_group = _Group("Denoise", self.reset_denoise)
        self.denoise = QSlider(Qt.Orientation.Horizontal)
        self.denoise.setRange(0, 30)
        g.form.addRow("Strength", self.denoise)
        lay.addWidget(g)

        g = self.tone_group = _Group("Brightness / gamma", self.reset_tone)
        self.brightness = QSlider(Qt.Orientation.Horizontal)
        self.brightness.setRange(-50, 50)
        self.gamma = _dspin(0.2, 5.0, 0.05, 1.0, decimals=2)
        g.form.addRow("Brightness", self.brightness)
        g.form.addRow("Gamma", self.gamma)
        lay.addWidget(g)

        self.reset_all_button = QPushButton(icon("mdi6.restore"), "Reset all")
        self.reset_all_button.clicked.connect(self.reset_all)
        lay.addWidget(self.reset_all_button)
        lay.addStretch(1)

        self.angle_slider.valueChanged.connect(lambda v: self.angle.setValue(v / 10))
        self.angle.valueChanged.connect(self._angle_changed)
        for w in (self.quarter, self.equalise):
            w.currentIndexChanged.connect(self._changed)
        for w in (*self.crop.values(), self.low, self.high, self.clip, self.gamma):
            w.valueChanged.connect(self._changed)
        for w in (self.tiles, self.denoise, self.brightness):
            w.valueChanged.connect(self._changed)
        self.stretch.toggled.connect(self._changed)
        self._update_enabled()

    # ----- state <-> recipe -----
    def steps(self) -> tuple[Step, ...]:
        out: list[Step] = []
        if self.quarter.currentIndex():
            out.append(Step.make("rotate90", k=self.quarter.currentIndex()))
        if self.angle.value():
            out.append(Step.make("rotate", angle=self.angle.value()))
        crop = {k: v.value() / 100 for k, v in self.crop.items()}
        if any(crop.values()):
            out.append(Step.make("crop", **crop))
        if self.denoise.value():
            out.append(Step.make("denoise", strength=float(self.denoise.value())))
        if self.stretch.isChecked():
            out.append(Step.make("stretch", low=self.low.value(), high=self.high.value()))
        if self.equalise.currentIndex() == 1:
            out.append(Step.make("equalize"))
        elif self.equalise.currentIndex() == 2:
            out.append(Step.make("clahe", clip=self.clip.value(), tiles=self.tiles.value()))
        if self.brightness.value() or self.gamma.value() != 1.0:
            out.append(Step.make("tone", brightness=float(self.brightness.value()),
                                 gamma=self.gamma.value()))
        return tuple(out)

    def set_steps(self, steps: tuple[Step, ...]) -> None:
        """Show a recipe (e.g. when another photo is selected) without emitting changes."""
        self._quiet = True
        try:
            self._reset_controls()
            for s in steps:
                p = s.params
                if s.op == "rotate90":
                    self.quarter.setCurrentIndex(int(p["k"]) % 4)
                elif s.op == "rotate":
                    self.angle.setValue(p["angle"])
                elif s.op == "crop":
                    for k, spin in self.crop.items():
                        spin.setValue(p[k] * 100)
                elif s.op == "denoise":
                    self.denoise.setValue(int(round(p["strength"])))
                elif s.op == "stretch":
                    self.stretch.setChecked(True)
                    self.low.setValue(p["low"])
                    self.high.setValue(p["high"])
                elif s.op == "equalize":
                    self.equalise.setCurrentIndex(1)
                elif s.op == "clahe":
                    self.equalise.setCurrentIndex(2)
                    self.clip.setValue(p["clip"])
                    self.tiles.setValue(int(p["tiles"]))
                elif s.op == "tone":
                    self.brightness.setValue(int(round(p["brightness"])))
                    self.gamma.setValue(p["gamma"])
        finally:
            self._quiet = False
        self._update_enabled()

    # ----- resets -----
    def _reset_controls(self) -> None:
        for fn in (self._r_rotate, self._r_crop, self._r_contrast, self._r_denoise,
                   self._r_tone):
            fn()

    def _r_rotate(self) -> None:
        self.quarter.setCurrentIndex(0)
        self.angle.setValue(0)

    def _r_crop(self) -> None:
        for spin in self.crop.values():
            spin.setValue(0)

    def _r_contrast(self) -> None:
        self.stretch.setChecked(False)
        self.low.setValue(0.5)
        self.high.setValue(99.5)
        self.equalise.setCurrentIndex(0)
        self.clip.setValue(2.0)
        self.tiles.setValue(8)

    def _r_denoise(self) -> None:
        self.denoise.setValue(0)

    def _r_tone(self) -> None:
        self.brightness.setValue(0)
        self.gamma.setValue(1.0)

    def _batch(self, fn: Callable[[], None]) -> None:
        before = self.steps()
        self._quiet = True
        try:
            fn()
        finally:
            self._quiet = False
        self._update_enabled()
        if self.steps() != before:
            self.stepsChanged.emit(self.steps())

    def reset_rotate(self) -> None:
        self._batch(self._r_rotate)

    def reset_crop(self) -> None:
        self._batch(self._r_crop)

    def reset_contrast(self) -> None:
        self._batch(self._r_contrast)

    def reset_denoise(self) -> None:
        self._batch(self._r_denoise)

    def reset_tone(self) -> None:
        self._batch(self._r_tone)

    def reset_all(self) -> None:
        self._batch(self._reset_controls)

    # ----- signals -----
    def _angle_changed(self, v: float) -> None:
        self.angle_slider.blockSignals(True)
        self.angle_slider.setValue(int(round(v * 10)))
        self.angle_slider.blockSignals(False)
        self._changed()

    def _update_enabled(self) -> None:
        self.low.setEnabled(self.stretch.isChecked())
        self.high.setEnabled(self.stretch.isChecked())
        clahe = self.equalise.currentIndex() == 2
        self.clip.setEnabled(clahe)
        self.tiles.setEnabled(clahe)

    def _changed(self, *_: object) -> None:
        if self._quiet:
            return
        self._update_enabled()
        self.stepsChanged.emit(self.steps())
