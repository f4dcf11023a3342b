"""The hints room: the Hints dock (colour, gamut picker, brush size, recent and suggested
colours, hint count, and the guidance rows of `guidance.GuidanceController`: colour strength,
uncertainty, reference photo) and everything a hint edit sets off.

A brush stroke, point or erase on the canvas becomes one `HintsCommand` on the photo's undo
stack; applying it (do, undo, redo) sets the photo's hints, saves the sidecar, asks for a
live preview and restarts the timer of the full-resolution job. The controller knows the
window only through what it asks of it: the photo on screen, the canvas, the model's card,
the live-preview switch and the two colourise entry points.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QColorDialog, QFormLayout, QFrame, QHBoxLayout, QLabel,
                               QScrollArea, QSlider, QSpinBox, QToolButton, QWidget)

from ..core.errors import ColorStudioError
from ..core.hints import HintSet, sidecar_path
from .colours import GamutPicker, SwatchRow, suggest_colours
from .document import Document, HintsCommand
from .guidance import GuidanceController

if TYPE_CHECKING:
    from .main_window import MainWindow

RGB = tuple[int, int, int]
RECENT = 8
RESULT_TIP = "Colours of the result around the cursor"
MODEL_TIP = "The model's own guesses for this spot, most likely first"


class HintsController(QObject):
    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.canvas = win.canvas
        self._hover = (-1.0, -1.0)
        self.model_suggestions = False  # the Suggested row holds the model's own guesses
        self.recent_colours: list[RGB] = self._load_recent()
        self.guidance = GuidanceController(win, self)
        self.widget = self._build()
        self._suggest_timer = QTimer(self, singleShot=True, interval=120)
        self._suggest_timer.timeout.connect(self._update_suggestions)
        c = self.canvas
        c.hintsEdited.connect(self._hints_edited)
        c.hintsDragging.connect(self._hints_dragging)
        c.hovered.connect(self._hovered)
        c.colourPicked.connect(lambda col: self.set_colour((col.red(), col.green(), col.blue())))

    def _load_recent(self) -> list[RGB]:
        try:
            raw = json.loads(self.win.settings.value("colours/recent", "", str) or "null")
        except (ValueError, TypeError):
            raw = None
        out: list[RGB] = []
        for c in raw or []:
            if isinstance(c, list) and len(c) == 3:
                r, g, b = (int(v) for v in c)
                out.append((r, g, b))
        return out[:RECENT]

    def _build(self) -> QWidget:
        tools = QWidget()
        form = QFormLayout(tools)
        self.colour_button = QToolButton()
        self.colour_button.setFixedSize(48, 24)
        self.colour_button.setToolTip("Hint colour (click for a colour dialog; it snaps to the "
                                      "colours that exist at the lightness under the cursor)")
        self.colour_button.clicked.connect(self._colour_dialog)
        self.picker = GamutPicker()
        self.picker.colourChosen.connect(lambda r, g, b: self.set_colour((r, g, b), snap=False))
        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setRange(1, 400)
        self.brush_spin = QSpinBox()
        self.brush_spin.setRange(1, 400)
        self.brush_spin.setSuffix(" px")
        self.brush_slider.valueChanged.connect(self.brush_spin.setValue)
        self.brush_spin.valueChanged.connect(self.brush_slider.setValue)
        self.brush_spin.valueChanged.connect(self._brush_changed)
        brow = QHBoxLayout()
        brow.addWidget(self.brush_slider, 1)
        brow.addWidget(self.brush_spin)
        self.recent_row = SwatchRow(RECENT)
        self.recent_row.chosen.connect(lambda r, g, b: self.set_colour((r, g, b)))
        self.suggest_row = SwatchRow(6)
        self.suggest_row.setToolTip(RESULT_TIP)
        self.suggest_row.chosen.connect(self._suggestion_chosen)
        self.hint_count = QLabel("No hints")
        form.addRow("Colour", self.colour_button)
        form.addRow(self.picker)
        form.addRow("Brush size", brow)
        form.addRow("Recent", self.recent_row)
        form.addRow("Suggested", self.suggest_row)
        form.addRow(self.hint_count)
        self.guidance.add_rows(form)
        scroll = QScrollArea()  # the dock may be shorter than its rows on a small screen
        scroll.setWidget(tools)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(tools.minimumSizeHint().width() + 20)
        return scroll

    def stop(self) -> None:
        self._suggest_timer.stop()
        self.guidance.stop()

    def save_settings(self) -> None:
        s = self.win.settings
        s.setValue("tools/brush", self.brush_spin.value())
        s.setValue("colours/current", json.dumps(list(self.canvas.colour)))
        s.setValue("colours/recent", json.dumps([list(c) for c in self.recent_colours]))

    # ----- colour and brush -----
    def set_colour(self, rgb: tuple[int, ...], snap: bool = True) -> None:
        r, g, b = (int(max(0, min(255, c))) for c in rgb)
        colour: RGB = (r, g, b)
        if snap:
            self.picker.set_colour(colour)
            colour = self.picker.current_rgb()
        self.canvas.colour = colour
        r, g, b = colour
        self.colour_button.setStyleSheet(f"background-color: rgb({r},{g},{b}); "
                                         "border: 1px solid #777;")
        self.canvas.update()

    def _colour_dialog(self) -> None:
        c = QColorDialog.getColor(QColor(*self.canvas.colour), self.win, "Hint colour")
        if c.isValid():
            self.set_colour((c.red(), c.green(), c.blue()))

    def _remember_colour(self, rgb: tuple[int, ...]) -> None:
        r, g, b = rgb
        colour: RGB = (r, g, b)
        if colour in self.recent_colours:
            self.recent_colours.remove(colour)
        self.recent_colours.insert(0, colour)
        del self.recent_colours[RECENT:]
        self.recent_row.set_colours(self.recent_colours)

    def _brush_changed(self, v: int) -> None:
        self.canvas.brush_size = float(v)
        self.canvas.update()

    def _hovered(self, x: float, y: float) -> None:
        self._hover = (x, y)
        doc = self.win.current
        if doc is None or x < 0:
            return
        lum = doc.lightness_at(x, y)
        if lum is not None:
            self.picker.set_lightness(lum)
        self._suggest_timer.start()

    def _update_suggestions(self) -> None:
        x, y = self._hover
        rgb = self.canvas.after_rgb
        doc = self.win.current
        if rgb is None or doc is None or x < 0 or not doc.loaded:
            return
        model = self.guidance.model_colours(x, y)
        self.model_suggestions = model is not None
        self.suggest_row.setToolTip(MODEL_TIP if self.model_suggestions else RESULT_TIP)
        if model is not None:
            self.suggest_row.set_colours(model)
            return
        w, h = doc.space_size()
        sx, sy = rgb.shape[1] / w, rgb.shape[0] / h
        radius = 0.06 * min(rgb.shape[:2])
        self.suggest_row.set_colours(suggest_colours(rgb, x * sx, y * sy, radius))

    def _suggestion_chosen(self, r: int, g: int, b: int) -> None:
        """The model's guesses are colours at the cursor's L* already: taken as they are;
        the result's colours snap to it."""
        if self.model_suggestions:
            self.picker.set_colour((r, g, b))
            self.set_colour((r, g, b), snap=False)
        else:
            self.set_colour((r, g, b))

    # ----- hint edits -----
    def _uses_hints(self) -> bool:
        card = self.win.current_card()
        return card is not None and bool(card.hints)

    def apply(self, doc: Document, hints: HintSet) -> None:
        """Called by the undo stack (redo/undo): set the hints and refresh what depends."""
        doc.hints = hints
        if doc is self.win.current:
            self.canvas.set_hints(hints)
            self.canvas.set_marker(None)  # a suggested spot holds until the next hint edit
            self.guidance.show_spread(hints)
            self.update_count()
            if self._uses_hints():
                if self.win.a_live.isChecked():
                    self.win.request_preview(hints)
                self.win.schedule_full()

    def edit(self, hints: HintSet, text: str) -> bool:
        """Make `hints` the current photo's, as one undoable step -> whether they changed."""
        doc = self.win.current
        if doc is None or hints == doc.hints:
            return False
        doc.undo.push(HintsCommand(doc, doc.hints, hints, text, self.apply))
        return True

    def _hints_edited(self, hints: HintSet, text: str) -> None:
        if self.edit(hints, text):
            self._remember_colour(self.canvas.colour)

    def _hints_dragging(self, hints: HintSet) -> None:
        if self.win.a_live.isChecked() and self._uses_hints():
            self.win.request_preview(hints)

    def clear(self) -> None:
        doc = self.win.current
        if doc is not None and doc.hints:
            cleared = replace(doc.hints, points=(), strokes=())  # the spread stays
            doc.undo.push(HintsCommand(doc, doc.hints, cleared, "Clear hints", self.apply))

    def save(self, doc: Document) -> None:
        """The sidecar: the hints with the recipe, or no sidecar without hints."""
        side = sidecar_path(doc.path)
        try:
            doc.write_sidecar()
        except (OSError, ColorStudioError) as exc:
            doc.hints_saved = False
            self.win.banner.show_message(f"{side.name}: cannot save the hints "
                                         f"({getattr(exc, 'strerror', None) or exc})", "error")

    def update_count(self) -> None:
        doc = self.win.current
        n = len(doc.hints) if doc else 0
        card = self.win.current_card()
        note = "" if card is None or card.hints else " — this model ignores hints"
        self.hint_count.setText(f"{n} hint{'s' if n != 1 else ''}{note}" if n else
                                "No hints" + note)
