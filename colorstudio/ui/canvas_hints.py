"""The canvas's hint layer (a mixin of `BeforeAfterCanvas`): the hints drawn over the photo,
the brush cursor, the guidance drawn over the result (an RGBA overlay such as the model's
uncertainty, stretched over the colourised side; a ring marking a suggested spot), and the
geometry of the hint tools (erasing along a drag, picking a colour from the result). Hints come
and go in original photo coordinates; drawing maps them to the view through the canvas's
`geometry_map`. The overlay and the marker are in view coordinates.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen

from ..core.hints import HintSet, HintStroke


MARKER_RADIUS = 16.0  # screen pixels


class HintLayer:
    """`self` is the `BeforeAfterCanvas` (hints, geometry_map, zoom, brush_size, tool...)."""

    def set_overlay(self, rgba: np.ndarray | None) -> None:
        """An (h, w, 4) uint8 RGBA image (any size: it is stretched over the photo) drawn over
        the colourised side, or None for none."""
        if rgba is None:
            self.overlay = None
        else:
            arr = np.ascontiguousarray(rgba, np.uint8)
            h, w = arr.shape[:2]
            self.overlay = QImage(arr.data, w, h, arr.strides[0],
                                  QImage.Format.Format_RGBA8888).copy()
        self.update()

    def set_marker(self, xy: tuple[float, float] | None) -> None:
        """A ring at view (x, y) on every pane, or None for none."""
        self.marker = None if xy is None else (float(xy[0]), float(xy[1]))
        self.update()

    def _draw_overlay(self, p: QPainter, pane: QRectF) -> None:
        """The overlay's visible part, in the same transform as the photo (the caller clips
        it to the colourised side)."""
        img = self.overlay
        if img is None or self.img_w == 0:
            return
        target = self.photo_rect(pane)
        vis = target.intersected(pane)
        if vis.isEmpty():
            return
        kx, ky = img.width() / target.width(), img.height() / target.height()
        src = QRectF((vis.left() - target.left()) * kx, (vis.top() - target.top()) * ky,
                     vis.width() * kx, vis.height() * ky)
        p.drawImage(vis, img, src)

    def _draw_marker(self, p: QPainter, pane: QRectF) -> None:
        if self.marker is None:
            return
        c = self.to_widget(*self.marker, pane)
        p.save()
        p.setClipRect(pane)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for colour, width in ((QColor(0, 0, 0, 200), 5.0), (QColor(0, 230, 255), 2.5)):
            p.setPen(QPen(colour, width))
            p.drawEllipse(c, MARKER_RADIUS, MARKER_RADIUS)
        p.setBrush(QColor(0, 230, 255))
        p.setPen(QPen(QColor(0, 0, 0, 200), 1))
        p.drawEllipse(c, 2.5, 2.5)
        p.restore()

    def view_hints(self, hints: HintSet | None = None) -> HintSet:
        """`hints` (default: the current ones) in view coordinates; the last one is cached."""
        hints = self.hints if hints is None else hints
        c = self._view_hints
        if c is None or c[0] is not hints or c[1] != self.geometry_map:
            c = self._view_hints = (hints, self.geometry_map, hints.to_view(self.geometry_map))
        return c[2]

    def _to_original(self, x: float, y: float) -> tuple[float, float]:
        if self.geometry_map.is_identity:
            return x, y
        q = self.geometry_map.to_original([[x, y]])[0]
        return float(q[0]), float(q[1])

    def _stroke_original(self) -> HintStroke:
        pts = tuple(self._stroke)
        if not self.geometry_map.is_identity:
            pts = tuple((float(a), float(b)) for a, b in self.geometry_map.to_original(pts))
        return HintStroke(pts, self.brush_size, self.colour)

    def _draw_hints(self, p: QPainter, pane: QRectF) -> None:
        hints = self.view_hints(self._draft if self._draft is not None else self.hints)
        strokes = list(hints.strokes)
        if self._gesture == "brush" and self._stroke:
            strokes.append(HintStroke(tuple(self._stroke), self.brush_size, self.colour))
        for s in strokes:
            path = QPainterPath(self.to_widget(*s.points[0], pane))
            for q in s.points[1:]:
                path.lineTo(self.to_widget(*q, pane))
            width = max(s.width * self.zoom, 2.0)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 110), width + 2, Qt.PenStyle.SolidLine,
                          Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
            p.drawPath(path)
            p.setPen(QPen(QColor(*s.rgb, 200), width, Qt.PenStyle.SolidLine,
                          Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
            if len(s.points) == 1:
                p.setBrush(QColor(*s.rgb, 200))
                p.setPen(Qt.PenStyle.NoPen)
                c = self.to_widget(*s.points[0], pane)
                p.drawEllipse(c, width / 2, width / 2)
            else:
                p.drawPath(path)
        for pt in hints.points:
            c = self.to_widget(pt.x, pt.y, pane)
            half = max((pt.radius + 0.5) * self.zoom, 5.0)
            r = QRectF(c.x() - half, c.y() - half, 2 * half, 2 * half)
            p.setBrush(QColor(*pt.rgb))
            p.setPen(QPen(QColor(255, 255, 255), 1.5))
            p.drawRect(r)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0), 1))
            p.drawRect(r.adjusted(-1.5, -1.5, 1.5, 1.5))

    def _draw_cursor(self, p: QPainter) -> None:
        if self._mouse is None or self.tool not in ("brush", "eraser", "point"):
            return
        r = max(self.brush_size * self.zoom / 2, 3.0)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for colour, width in ((QColor(0, 0, 0, 160), 3), (QColor(255, 255, 255, 230), 1)):
            p.setPen(QPen(colour, width))
            if self.tool == "point":
                p.drawRect(QRectF(self._mouse.x() - r, self._mouse.y() - r, 2 * r, 2 * r))
            else:
                p.drawEllipse(self._mouse, r, r)
        if self.tool == "eraser":
            p.drawLine(self._mouse + QPointF(-r * 0.6, -r * 0.6), self._mouse
                       + QPointF(r * 0.6, r * 0.6))

    # ----- helpers -----
    def _pick_radius(self) -> float:
        return max(10.0 / self.zoom, self.brush_size / 2)

    def _erase(self, hints: HintSet, x: float, y: float) -> HintSet:
        """Erase under the eraser disc at original (x, y), and along the way from the last
        position of this gesture, so a fast drag leaves no gaps."""
        r = max(self.brush_size / 2, 4.0 / self.zoom)
        last, self._erase_at = self._erase_at, (x, y)
        centres = [(x, y)]
        if last is not None:
            n = max(1, math.ceil(math.hypot(x - last[0], y - last[1]) / max(r / 2, 0.5)))
            centres = [(last[0] + (x - last[0]) * i / n, last[1] + (y - last[1]) * i / n)
                       for i in range(1, n + 1)]
        for cx, cy in centres:
            hints = hints.erased(cx, cy, r)
        return hints

    def _pick_colour(self, x: float, y: float) -> None:
        rgb = self.after_rgb
        if rgb is None or not (0 <= x < self.img_w and 0 <= y < self.img_h):
            return
        h, w = rgb.shape[:2]
        px = rgb[min(int(y * h / self.img_h), h - 1), min(int(x * w / self.img_w), w - 1)]
        self.colourPicked.emit(QColor(int(px[0]), int(px[1]), int(px[2])))
