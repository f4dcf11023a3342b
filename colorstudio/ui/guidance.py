"""The guidance rows of the Hints dock: colour strength, hint spread (and an overlay of where
the hints act), the model's uncertainty (an overlay on the result, "Suggest a spot", the
model's own colour guesses for the Suggested swatches) and a reference photo.

Strength and reference belong to the photo (`Document.strength`, `Document.reference`): they
go into every colourisation and export, are part of `Document.key()` and are saved in the
sidecar. The hint spread belongs to the hints (`HintSet.spread`): a change is a hint edit,
undone like one. The uncertainty comes from the photo's full-resolution result (`doc.result`): its
`distribution` (models with an ab-distribution head) and the hints' `influence`; a model
without that head leaves the uncertainty controls disabled, saying why. One overlay shows at
a time: the uncertainty or the reach.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QPushButton, QWidget

from ..core.color import rgb_to_lab
from ..core.errors import ColorStudioError
from ..core.hints import HintSet
from ..core.jobs import ColorizeResult
from ..core.reference import has_colour, read_reference
from ..core.uncertainty import heat_rgba, reach_rgba, suggest_spot, uncertainty_map
from .document import Document
from .guidance_widgets import (SPREAD_TIP, STRENGTH_TIP, THUMB_H, THUMB_W, ReferenceDrop,
                               SettlingSlider)

if TYPE_CHECKING:
    from .hints_controller import HintsController
    from .main_window import MainWindow

RGB = tuple[int, int, int]
MAP_SIDE = 1024  # the uncertainty map is made at the result's size, at most this a side
UNCERTAINTY_TIP = ("Shade the result where the model is unsure of the colour (yellow: "
                   "somewhat, magenta: very); the hints' surroundings count as sure")
SUGGEST_TIP = "Mark the spot where the model is least sure: a hint there helps most"
NO_RESULT_TIP = "Colourise the photo first: the uncertainty comes from the model's result"
REACH_TIP = ("Tint the result where the hints act (the stronger the tint, the more of their "
             "colour); if a hint reaches too far, move Hint spread towards Local")
NO_REACH_TIP = "Add a hint first: the tint shows where the hints act"
SPOT_FOUND = "The model is least sure here: a hint here helps most"
SPOT_NONE = ("The model is sure everywhere: no spot stands out, and hints are needed only "
             "where you want other colours")


class GuidanceController(QObject):
    """The strength slider, the uncertainty overlay and spot, the reference zone."""

    def __init__(self, win: MainWindow, hints: HintsController) -> None:
        super().__init__(win)
        self.win, self.hints, self.canvas = win, hints, win.canvas
        self.strength = SettlingSlider(("Cautious", "Vivid"), "Colour strength", STRENGTH_TIP)
        self.strength.changed.connect(self._strength_changed)
        self.spread = SettlingSlider(("Local", "Wide"), "Hint spread", SPREAD_TIP)
        self.spread.changed.connect(self._spread_changed)
        self.show_uncertainty = QPushButton("Show uncertainty")
        self.show_uncertainty.setCheckable(True)
        self.show_reach = QPushButton("Show reach")
        self.show_reach.setCheckable(True)
        self.show_reach.toggled.connect(lambda on: self._toggled(on, self.show_uncertainty))
        self.show_uncertainty.toggled.connect(lambda on: self._toggled(on, self.show_reach))
        self.suggest = QPushButton("Suggest a spot")
        self.suggest.clicked.connect(self.suggest_spot)
        self.reference = ReferenceDrop()
        self.reference.fileChosen.connect(self.set_reference)
        self.reference.rejected.connect(lambda why: win.banner.show_message(why, "error"))
        self.reference.removed.connect(self.remove_reference)
        self._unc: tuple[ColorizeResult, np.ndarray] | None = None  # (result, its map)
        self._overlay_for: tuple[str, ColorizeResult] | None = None  # overlay: (kind, result)
        self._thumbs: dict[Path, np.ndarray | None] = {}  # reference -> small RGB (None: bad)
        win.documentShown.connect(self._doc_shown)
        win.resultShown.connect(self._result_shown)
        self._doc_shown(None)

    def add_rows(self, form: QFormLayout) -> None:
        """Put the guidance rows at the end of the Hints dock's form."""
        form.addRow("Colour strength", self.strength)
        form.addRow("Hint spread", self.spread)
        form.addRow("", _row(self.show_reach))
        form.addRow(_row(self.show_uncertainty, self.suggest))
        form.addRow("Reference", self.reference)

    def stop(self) -> None:
        self.strength.cancel()
        self.spread.cancel()

    # ----- the photo on screen -----
    def _doc(self) -> Document | None:
        doc = self.win.current
        return doc if doc is not None and doc.loaded else None

    def result(self) -> ColorizeResult | None:
        """The full-resolution result of the photo on screen, if any."""
        doc = self._doc()
        return doc.result if doc is not None else None

    def _doc_shown(self, _doc: Document | None = None) -> None:
        """Another photo (or the same, shown again): its strength and reference, no marker."""
        doc = self._doc()
        for w in (self.strength, self.spread, self.reference):
            w.setEnabled(doc is not None)
        if doc is not None:
            self.strength.set_value(round(doc.strength * 100))
            self.show_spread(doc.hints)
        self.canvas.set_marker(None)
        self._show_reference(doc)
        self.refresh()

    def _result_shown(self, _doc: Document) -> None:
        """A new result of the photo on screen (perhaps of another model)."""
        self._show_reference(self._doc())
        self.refresh()

    def _rerun(self, doc: Document) -> None:
        """A new strength or reference: the live preview now, the full result soon."""
        if doc is not self.win.current or self.win.model_id is None:
            return
        if self.win.a_live.isChecked():
            self.win.request_preview(doc.hints)
        self.win.schedule_full()

    # ----- colour strength -----
    def _strength_changed(self, value: int) -> None:
        doc = self._doc()
        if doc is None or round(doc.strength * 100) == value:
            return
        doc.strength = value / 100.0
        self.hints.save(doc)
        self._rerun(doc)

    # ----- hint spread -----
    def show_spread(self, hints: HintSet) -> None:
        """The slider at these hints' spread (silently: e.g. after an undo)."""
        self.spread.set_value(round(hints.spread * 100))

    def _spread_changed(self, value: int) -> None:
        doc = self._doc()
        if doc is not None:
            self.hints.edit(replace(doc.hints, spread=value / 100.0), "Change hint spread")

    # ----- uncertainty -----
    def uncertainty(self) -> np.ndarray | None:
        """The uncertainty map (0..1) of the current result at its size (at most MAP_SIDE a
        side), or None without a result with a distribution."""
        res = self.result()
        if res is None or res.distribution is None:
            return None
        if self._unc is None or self._unc[0] is not res:
            mh, mw = _map_size(res)
            self._unc = (res, uncertainty_map(res.distribution, mh, mw, covered=res.influence))
        return self._unc[1]

    def _toggled(self, on: bool, other: QPushButton) -> None:
        """One overlay at a time: turning one on turns the other off."""
        if on:
            other.setChecked(False)
        self.refresh()

    def refresh(self) -> None:
        """Enable the uncertainty controls for a result with a distribution, and the reach
        for a result with hints; show or hide the overlay."""
        res = self.result()
        ok = res is not None and res.distribution is not None
        reach_ok = res is not None and res.influence is not None
        self.show_reach.setEnabled(reach_ok)
        self.show_reach.setToolTip(REACH_TIP if reach_ok else NO_REACH_TIP)
        if res is None:
            why = NO_RESULT_TIP
        elif not ok:
            card = self.win.engine.cards().get(res.model_id)
            name = card.name if card is not None else res.model_id
            why = (f"{name} does not predict a spread of likely colours, so it cannot say "
                   "where it is unsure (models with a colour-distribution head can)")
        for button, tip in ((self.show_uncertainty, UNCERTAINTY_TIP), (self.suggest, SUGGEST_TIP)):
            button.setEnabled(ok)
            button.setToolTip(tip if ok else why)
        kind = ("uncertainty" if ok and self.show_uncertainty.isChecked() else
                "reach" if reach_ok and self.show_reach.isChecked() else None)
        if kind is None or res is None:
            self._overlay_for = None
            if self.canvas.overlay is not None:
                self.canvas.set_overlay(None)
        elif (self._overlay_for is None or self._overlay_for[0] != kind
              or self._overlay_for[1] is not res or self.canvas.overlay is None):
            self._overlay_for = (kind, res)
            if kind == "uncertainty":
                self.canvas.set_overlay(heat_rgba(self.uncertainty()))
            else:
                self.canvas.set_overlay(reach_rgba(res.influence, *_map_size(res)))

    def suggest_spot(self) -> tuple[float, float] | None:
        """Ring the spot where a hint helps most (view coordinates) -> it, or None."""
        doc, unc = self._doc(), self.uncertainty()
        if doc is None or unc is None:
            return None
        spot = suggest_spot(unc)
        bar = self.win.statusBar()
        if spot is None:
            self.canvas.set_marker(None)
            bar.showMessage(SPOT_NONE, 8000)
            return None
        w, h = doc.space_size()
        xy = (spot[0] * w / unc.shape[1], spot[1] * h / unc.shape[0])
        self.canvas.set_marker(xy)
        bar.showMessage(SPOT_FOUND, 8000)
        return xy

    def model_colours(self, x: float, y: float) -> list[RGB] | None:
        """The modes of the model's distribution at view (x, y) at the photo's L* there,
        most likely first; None without a distribution."""
        doc, res = self._doc(), self.result()
        if doc is None or res is None or res.distribution is None:
            return None
        l_star = doc.lightness_at(x, y)
        if l_star is None:
            return None
        w, h = doc.space_size()
        return res.distribution.modes(x / w, y / h, l_star)

    # ----- reference photo -----
    def set_reference(self, path: Path) -> bool:
        """Use `path` as the photo's reference after checking it reads and has colour; an
        unreadable one is said in the banner and changes nothing."""
        doc = self._doc()
        if doc is None:
            self.win.banner.show_message("Open a photo first: the reference photo guides "
                                         "its colours.", "info")
            return False
        path = Path(path).absolute()
        try:
            rgb = read_reference(path)
            if not has_colour(rgb_to_lab(np.ascontiguousarray(rgb[::4, ::4]))):
                raise ColorStudioError(f"{path.name}: the reference photo has no colour "
                                       "(it is greyscale)")
        except ColorStudioError as exc:
            self.win.banner.show_message(str(exc), "error", source=doc)
            return False
        self._thumbs[path] = _thumb(rgb)
        self.reference.start_dir = str(path.parent)
        if doc.reference == path:
            return True
        doc.reference = path
        self._changed_reference(doc, f"The colours of {path.name} now guide {doc.name}")
        return True

    def remove_reference(self) -> None:
        doc = self._doc()
        if doc is not None and doc.reference is not None:
            doc.reference = None
            self._changed_reference(doc, f"{doc.name} has no reference photo now")

    def _changed_reference(self, doc: Document, said: str) -> None:
        self._show_reference(doc)
        self.hints.save(doc)
        self.win.statusBar().showMessage(said, 5000)
        self._rerun(doc)

    def _show_reference(self, doc: Document | None) -> None:
        ref = doc.reference if doc is not None else None
        if ref is None:
            self.reference.show_reference(None)
            return
        if ref not in self._thumbs:
            try:
                self._thumbs[ref] = _thumb(read_reference(ref))
            except ColorStudioError:
                self._thumbs[ref] = None
        thumb = self._thumbs[ref]
        card = self.win.current_card()
        note = ("cannot be read" if thumb is None else
                "this model does not take hints, so it is not used"
                if card is not None and not card.hints else "")
        self.reference.show_reference(ref, thumb, note)


def _map_size(res: ColorizeResult) -> tuple[int, int]:
    """(height, width) of an overlay for `res`: its size, at most MAP_SIDE a side."""
    h, w = res.rgb8.shape[:2]
    s = min(1.0, MAP_SIDE / max(h, w))
    return max(1, round(h * s)), max(1, round(w * s))


def _row(*widgets: QWidget) -> QWidget:
    """Widgets side by side, left-aligned, as one form row."""
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    row.addStretch(1)
    row.setContentsMargins(0, 0, 0, 0)
    box = QWidget()
    box.setLayout(row)
    return box


def _thumb(rgb: np.ndarray) -> np.ndarray:
    """A small copy of an RGB image, to fit THUMB_W x THUMB_H."""
    h, w = rgb.shape[:2]
    s = min(1.0, THUMB_W * 2 / w, THUMB_H * 2 / h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
