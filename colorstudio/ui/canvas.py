"""The before/after canvas: one view transform shared by both sides, three comparison modes,
and the hint tools (brush, point, eraser, colour picker) drawn on top.

Modes: "split" (a draggable divider; before on the left, after on the right, labelled; the
divider is a fraction of the visible part of the photo, so it is always on the photo),
"side" (two panes side by side) and "toggle" (the result; hold the backslash key to see the
original). Both sides always use the same zoom and offset, so they cannot drift apart.
Images are `Pyramid`s converted once; a repaint draws only the visible part of one level.
An optional overlay (`set_overlay`, e.g. the model's uncertainty) is drawn over the colourised
side in the same transform, and `set_marker` rings a spot; both go with the photo's geometry.

Coordinates: the canvas shows the *view* (the preprocessed photo, img_w x img_h); the hints it
is given and emits are in *original* photo coordinates, and `geometry` (a
`core.preprocess.Geometry`, set with the "before" image) maps between the two. So hints stay
on the pixels they were painted on when the photo is turned, straightened or cropped.

Hints are edited as whole `HintSet` states: a finished gesture emits `hintsEdited(new,
description)` (the owner pushes it on its undo stack and calls `set_hints`); while a gesture
is in progress `hintsDragging(state)` lets the owner run a live preview. The eraser removes
only what it brushes (a stroke crossed in the middle is split in two).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import (QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen,
                           QWheelEvent)
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..core.hints import HintPoint, HintSet
from ..core.preprocess import Geometry
from .canvas_hints import HintLayer
from .imaging import Pyramid

MODES = ("split", "side", "toggle")
TOOLS = ("pan", "brush", "point", "eraser", "picker")
MIN_ZOOM, MAX_ZOOM = 0.01, 32.0
GAP = 6  # pixels between the panes in side-by-side mode
ORIGINAL_KEY = Qt.Key.Key_Backslash


class BeforeAfterCanvas(HintLayer, QWidget):
    viewChanged = Signal()
    hintsEdited = Signal(object, str)  # new HintSet, undo text
    hintsDragging = Signal(object)  # HintSet while a gesture is in progress
    hovered = Signal(float, float)  # image coordinates (-1, -1 when outside)
    colourPicked = Signal(QColor)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAcceptDrops(False)  # drops go to the main window
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)
        self.before: Pyramid | None = None
        self.after: Pyramid | None = None
        self.after_rgb = None  # the result as uint8 (h, w, 3) for the colour picker
        self.img_w = self.img_h = 0
        self.zoom = 1.0
        self.offset = QPointF(0, 0)
        self.mode = "split"
        self.divider = 0.5  # fraction of the visible part of the photo
        self.geometry_map = Geometry(0, 0)  # original <-> view coordinates of the hints
        self.showing_original = False
        self.fit_on_resize = True
        self.tool = "pan"
        self.brush_size = 12.0  # image pixels
        self.colour: tuple[int, int, int] = (200, 60, 50)
        self.hints = HintSet()
        self.show_hints = True
        self._gesture: str | None = None
        self._press = QPointF()
        self._press_offset = QPointF()
        self._stroke: list[tuple[float, float]] = []
        self._drag_index: int | None = None
        self._draft: HintSet | None = None
        self._erase_at: tuple[float, float] | None = None  # last eraser position (original)
        self._view_hints: tuple[HintSet, Geometry, HintSet] | None = None  # mapping cache
        self._mouse: QPointF | None = None
        self._space = False
        self._view_cache: dict[tuple, object] = {}
        self.overlay: QImage | None = None  # drawn over the colourised side (set_overlay)
        self.marker: tuple[float, float] | None = None  # a ringed spot, view coordinates

    # ----- content -----
    def set_before(self, pyr: Pyramid | None, width: int, height: int,
                   geometry: Geometry | None = None) -> None:
        """Set the original (image space = width x height, the preprocessed photo) and how
        the original photo's coordinates map onto it (default: they are the same); a new
        size refits the view."""
        new_size = (width, height) != (self.img_w, self.img_h)
        self._view_cache.clear()
        self.before, self.img_w, self.img_h = pyr, width, height
        geometry = geometry if geometry is not None else Geometry(height, width)
        if geometry != self.geometry_map:  # another photo or recipe: the guidance is stale
            self.overlay = self.marker = None
        self.geometry_map = geometry
        if new_size:
            self.after = None
            self.after_rgb = None
            self.fit()
        self.update()

    def set_after(self, pyr: Pyramid | None, rgb8=None) -> None:  # noqa: ANN001 - ndarray
        self.after, self.after_rgb = pyr, rgb8
        self._view_cache.clear()
        self.update()

    def clear(self) -> None:
        self._view_cache.clear()
        self.before = self.after = None
        self.after_rgb = None
        self.img_w = self.img_h = 0
        self.geometry_map = Geometry(0, 0)
        self.hints = HintSet()
        self.overlay = self.marker = None
        self.update()

    def set_hints(self, hints: HintSet) -> None:
        self.hints = hints
        self._draft = None
        self.update()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        keep = self.visible_image_rect(0)
        self.mode = mode
        if self.fit_on_resize:
            self.fit()
        elif keep is not None:  # keep the same image area centred in the (new) pane
            pane = self.panes()[0]
            c = keep.center()
            self.offset = QPointF(pane.width() / 2 - c.x() * self.zoom,
                                  pane.height() / 2 - c.y() * self.zoom)
        self.viewChanged.emit()
        self.update()

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(tool)
        self.tool = tool
        self.setCursor({"pan": Qt.CursorShape.OpenHandCursor,
                        "picker": Qt.CursorShape.CrossCursor}.get(tool,
                                                                 Qt.CursorShape.BlankCursor))
        self.update()

    # ----- geometry -----
    def panes(self) -> list[QRectF]:
        r = QRectF(self.rect())
        if self.mode == "side":
            w = (r.width() - GAP) / 2
            return [QRectF(0, 0, w, r.height()), QRectF(w + GAP, 0, w, r.height())]
        return [r]

    def pane_at(self, pos: QPointF) -> QRectF | None:
        for p in self.panes():
            if p.contains(pos):
                return p
        return None

    def to_image(self, pos: QPointF) -> QPointF:
        pane = self.pane_at(pos) or self.panes()[0]
        return (pos - pane.topLeft() - self.offset) / self.zoom

    def to_widget(self, x: float, y: float, pane: QRectF) -> QPointF:
        return pane.topLeft() + self.offset + QPointF(x, y) * self.zoom

    def visible_image_rect(self, pane_index: int) -> QRectF | None:
        """The part of the image space each pane shows (both panes always show the same)."""
        panes = self.panes()
        if pane_index >= len(panes) or self.img_w == 0:
            return None
        pane = panes[pane_index]
        tl = (QPointF(0, 0) - self.offset) / self.zoom
        return QRectF(tl.x(), tl.y(), pane.width() / self.zoom, pane.height() / self.zoom)

    def photo_rect(self, pane: QRectF) -> QRectF:
        """Where the photo is drawn in `pane` (widget coordinates; may exceed the pane)."""
        return QRectF(pane.topLeft() + self.offset,
                      QSizeF(self.img_w * self.zoom, self.img_h * self.zoom))

    def divider_span(self) -> QRectF:
        """The visible part of the photo in split mode, which the divider splits (the whole
        pane when the photo is panned out of sight)."""
        pane = self.panes()[0]
        vis = self.photo_rect(pane).intersected(pane)
        return vis if vis.width() >= 1 and vis.height() >= 1 else pane

    def divider_x(self) -> float:
        span = self.divider_span()
        return span.left() + span.width() * self.divider

    # ----- zoom and pan -----
    def fit(self) -> None:
        if self.img_w == 0:
            return
        pane = self.panes()[0]
        self.zoom = max(MIN_ZOOM, min(pane.width() / self.img_w, pane.height() / self.img_h))
        self.offset = QPointF((pane.width() - self.img_w * self.zoom) / 2,
                              (pane.height() - self.img_h * self.zoom) / 2)
        self.fit_on_resize = True
        self.viewChanged.emit()
        self.update()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point under `anchor` (pane coordinates) in place."""
        pane = self.panes()[0]
        if anchor is None:
            anchor = QPointF(pane.width() / 2, pane.height() / 2)
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        img_pt = (anchor - self.offset) / self.zoom
        self.zoom = zoom
        self.offset = anchor - img_pt * zoom
        self.fit_on_resize = False
        self.viewChanged.emit()
        self.update()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def pan_by(self, dx: float, dy: float) -> None:
        self.offset += QPointF(dx, dy)
        self.fit_on_resize = False
        self.viewChanged.emit()
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802
        if self.fit_on_resize:
            self.fit()
        super().resizeEvent(event)

    # ----- painting -----
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(pal.ColorRole.Window).darker(115))
        if self.before is None:
            p.setPen(pal.color(pal.ColorRole.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No photo")
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 2)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        panes = self.panes()
        original = self.showing_original or self.after is None
        if self.mode == "side":
            self._draw(p, self.before, panes[0])
            self._draw(p, self.after or self.before, panes[1])
            if self.after is not None:
                self._draw_overlay(p, panes[1])
            self._label(p, self._visible_photo(panes[0]), "original")
            self._label(p, self._visible_photo(panes[1]),
                        "not colourised yet" if self.after is None else "colourised")
        elif self.mode == "toggle" or original:
            self._draw(p, self.before if original else self.after, panes[0])
            if not original:
                self._draw_overlay(p, panes[0])
            if self.mode == "toggle":
                self._label(p, self._visible_photo(panes[0]),
                            "original" if original else "colourised")
        else:
            x = self.divider_x()
            pane = panes[0]
            span = self.divider_span()
            left = QRectF(span.left(), span.top(), x - span.left(), span.height())
            right = QRectF(x, span.top(), span.right() - x, span.height())
            p.save()
            p.setClipRect(QRectF(0, 0, x, pane.height()))
            self._draw(p, self.before, pane)
            p.setClipRect(QRectF(x, 0, pane.width() - x, pane.height()))
            self._draw(p, self.after, pane)
            self._draw_overlay(p, pane)
            p.restore()
            self._label(p, left, "original")
            self._label(p, right, "colourised", right=True)
            p.setPen(QPen(QColor(255, 255, 255, 220), 2))
            p.drawLine(QPointF(x, span.top()), QPointF(x, span.bottom()))
            p.setBrush(QColor(255, 255, 255, 230))
            p.setPen(QPen(QColor(0, 0, 0, 120), 1))
            p.drawEllipse(QPointF(x, span.center().y()), 9, 9)
        if self.show_hints:
            for pane in panes:
                p.save()
                p.setClipRect(self._visible_photo(pane))  # cropped-away hints are not shown
                self._draw_hints(p, pane)
                p.restore()
        for pane in panes:
            self._draw_marker(p, pane)
        self._draw_cursor(p)

    def _draw(self, p: QPainter, pyr: Pyramid | None, pane: QRectF) -> None:
        """Draw the visible part of the right pyramid level. Outside of a pan gesture the
        smoothly scaled visible part is cached, so repaints that keep the view (divider drags,
        hint painting, cursor moves) only copy pixels."""
        if pyr is None:
            return
        pm, f = pyr.level_for(self.zoom, self.img_w)
        target = QRectF(pane.topLeft() + self.offset,
                        QPointF(pane.topLeft() + self.offset)
                        + QPointF(self.img_w * self.zoom, self.img_h * self.zoom))
        vis = target.intersected(pane).toAlignedRect()
        if vis.isEmpty():
            return
        k = f / self.zoom  # level pixels per screen pixel
        src = QRectF((vis.left() - target.left()) * k, (vis.top() - target.top()) * k,
                     vis.width() * k, vis.height() * k)
        if self._gesture == "pan" or abs(k - 1.0) < 1e-6 or k < 1.0:
            p.drawImage(QRectF(vis), pm, src)  # 1:1 or enlarging: cheap, no cache
            return
        key = (id(pm), vis.x(), vis.y(), vis.width(), vis.height(), round(src.x(), 3),
               round(src.y(), 3), round(k, 6))
        img = self._view_cache.get(key)
        if img is None:
            part = pm.copy(src.toAlignedRect())
            img = part.scaled(vis.size(), Qt.AspectRatioMode.IgnoreAspectRatio,
                              Qt.TransformationMode.SmoothTransformation)
            if len(self._view_cache) >= 4:
                self._view_cache.pop(next(iter(self._view_cache)))
            self._view_cache[key] = img
        p.drawImage(vis.topLeft(), img)

    def _visible_photo(self, pane: QRectF) -> QRectF:
        return self.photo_rect(pane).intersected(pane)

    def _label(self, p: QPainter, area: QRectF, text: str, right: bool = False) -> None:
        """A small dark tag in the top-left (or top-right) corner of `area`, clipped to it."""
        if area.width() < 1 or area.height() < 1:
            return
        p.save()
        p.setClipRect(area)
        w = p.fontMetrics().horizontalAdvance(text) + 16
        left = area.right() - 8 - w if right else area.left() + 8
        r = QRectF(left, area.top() + 8, w, 22)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 140))
        p.drawRoundedRect(r, 4, 4)
        p.setPen(QColor(255, 255, 255))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        p.restore()

    # ----- input -----
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self.img_w == 0:
            return
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            return
        pos = event.position()
        pane = self.pane_at(pos) or self.panes()[0]
        self.zoom_by(1.25 ** steps, pos - pane.topLeft())
        event.accept()

    def _near_divider(self, pos: QPointF) -> bool:
        return (self.mode == "split" and self.after is not None
                and abs(pos.x() - self.divider_x()) <= 8)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        self._press = pos
        self._press_offset = QPointF(self.offset)
        btn = event.button()
        if self.img_w == 0:
            return
        if btn == Qt.MouseButton.MiddleButton or (btn == Qt.MouseButton.LeftButton and (
                self.tool == "pan" or self._space) and not self._near_divider(pos)):
            self._gesture = "pan"
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if btn == Qt.MouseButton.LeftButton and self._near_divider(pos):
            self._gesture = "divider"
            return
        ip = self.to_image(pos)
        x, y = ip.x(), ip.y()  # view coordinates
        ox, oy = self._to_original(x, y)  # the hints' (distances are the same in both)
        if btn == Qt.MouseButton.RightButton and self.tool in ("point", "brush", "eraser"):
            idx = self.hints.nearest_point(ox, oy, self._pick_radius())
            if idx is not None:
                self.hintsEdited.emit(self.hints.without_point(idx), "Remove colour point")
            return
        if btn != Qt.MouseButton.LeftButton:
            return
        if self.tool == "brush":
            self._gesture = "brush"
            self._stroke = [(x, y)]
        elif self.tool == "point":
            idx = self.hints.nearest_point(ox, oy, self._pick_radius())
            if idx is None:
                self._draft = self.hints.with_point(
                    HintPoint(ox, oy, max(self.brush_size / 2 - 0.5, 0.0), self.colour))
                self._drag_index = len(self._draft.points) - 1
                self._gesture = "add-point"
            else:
                self._draft = self.hints
                self._drag_index = idx
                self._gesture = "move-point"
            self.hintsDragging.emit(self._draft)
        elif self.tool == "eraser":
            self._gesture = "eraser"
            self._erase_at = None
            self._draft = self._erase(self.hints, ox, oy)
            self.hintsDragging.emit(self._draft)
        elif self.tool == "picker":
            self._pick_colour(x, y)
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        self._mouse = pos
        ip = self.to_image(pos)
        x, y = ip.x(), ip.y()
        inside = 0 <= x < self.img_w and 0 <= y < self.img_h
        self.hovered.emit(x if inside else -1.0, y if inside else -1.0)
        g = self._gesture
        if g == "pan":
            d = pos - self._press
            self.offset = self._press_offset + d
            self.fit_on_resize = False
            self.viewChanged.emit()
        elif g == "divider":
            span = self.divider_span()
            self.divider = min(0.98, max(0.02, (pos.x() - span.left()) / max(span.width(), 1)))
        elif g == "brush":
            lx, ly = self._stroke[-1]
            if math.hypot(x - lx, y - ly) * self.zoom >= 2:
                self._stroke.append((x, y))
                self.hintsDragging.emit(self.hints.with_stroke(self._stroke_original()))
        elif g in ("add-point", "move-point") and self._draft is not None:
            assert self._drag_index is not None
            self._draft = self._draft.moved_point(self._drag_index, *self._to_original(x, y))
            self.hintsDragging.emit(self._draft)
        elif g == "eraser" and self._draft is not None:
            erased = self._erase(self._draft, *self._to_original(x, y))
            if erased != self._draft:
                self._draft = erased
                self.hintsDragging.emit(erased)
        elif g is None and self.tool == "pan":
            self.setCursor(Qt.CursorShape.SplitHCursor if self._near_divider(pos)
                           else Qt.CursorShape.OpenHandCursor)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        g, self._gesture = self._gesture, None
        if g == "pan":
            self.setCursor(Qt.CursorShape.OpenHandCursor if self.tool == "pan"
                           else Qt.CursorShape.BlankCursor)
        elif g == "brush" and self._stroke:
            stroke = self._stroke_original()
            self._stroke = []
            self.hintsEdited.emit(self.hints.with_stroke(stroke), "Paint colour stroke")
        elif g == "add-point" and self._draft is not None:
            self.hintsEdited.emit(self._draft, "Add colour point")
        elif g == "move-point" and self._draft is not None and self._draft != self.hints:
            self.hintsEdited.emit(self._draft, "Move colour point")
        elif g == "eraser" and self._draft is not None and self._draft != self.hints:
            self.hintsEdited.emit(self._draft, "Erase hints")
        self._draft = None
        self._drag_index = None
        self._erase_at = None
        self.update()

    def leaveEvent(self, event) -> None:  # noqa: ANN001, N802
        self._mouse = None
        self.hovered.emit(-1.0, -1.0)
        self.update()

    def keyPressEvent(self, event) -> None:  # noqa: ANN001, N802
        if event.key() == ORIGINAL_KEY:
            if not event.isAutoRepeat():
                self.showing_original = True
                self.update()
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: ANN001, N802
        if event.key() == ORIGINAL_KEY:
            if not event.isAutoRepeat():
                self.showing_original = False
                self.update()
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            return
        super().keyReleaseEvent(event)
