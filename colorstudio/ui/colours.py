"""Colour choosing for hints: the gamut picker at a pixel's L*, swatch rows (recent palette and
suggestions), and the suggestion sampler (dominant colours of the result near the cursor).
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from ..core.color import lab_to_rgb, rgb_to_lab
from ..core.gamut import in_gamut, lab_to_rgb8, rgb8_to_lab, snap_ab

__all__ = ["AB_RANGE", "GamutPicker", "SwatchRow", "in_gamut", "lab_to_rgb8", "rgb8_to_lab",
           "snap_ab", "suggest_colours"]

AB_RANGE = 110.0


def suggest_colours(rgb8: np.ndarray, x: float, y: float, radius: float, k: int = 6,
                    seed: int = 0) -> list[tuple[int, int, int]]:
    """Dominant colours (k-means on a*b*) of `rgb8` (h, w, 3) within `radius` pixels of
    (x, y) in its own pixel coordinates, most common first; chromatic ones only when any."""
    h, w = rgb8.shape[:2]
    r = max(int(radius), 2)
    x0, x1 = max(int(x) - r, 0), min(int(x) + r + 1, w)
    y0, y1 = max(int(y) - r, 0), min(int(y) + r + 1, h)
    if x1 <= x0 or y1 <= y0:
        return []
    patch = rgb8[y0:y1, x0:x1].reshape(-1, 3)
    step = max(1, len(patch) // 3000)
    lab = rgb_to_lab(patch[::step].astype(np.float32) / 255.0)
    k = min(k, len(lab))
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(seed)
    _, labels, centres = cv2.kmeans(lab[:, 1:].copy(), k, None, crit, 2, cv2.KMEANS_PP_CENTERS)
    counts = np.bincount(labels.ravel(), minlength=k)
    out = []
    for i in np.argsort(-counts):
        if counts[i] == 0:
            continue
        l_mean = float(lab[labels.ravel() == i, 0].mean())
        colour = lab_to_rgb8(l_mean, float(centres[i, 0]), float(centres[i, 1]))
        if colour not in out:
            out.append(colour)
    return out


class GamutPicker(QWidget):
    """The a*b* plane at one lightness; colours outside sRGB are hatched and clicks snap inside.

    `colourChosen(r, g, b)` carries the snapped colour at the current L*."""

    colourChosen = Signal(int, int, int)
    SIZE = 168

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(self.SIZE, self.SIZE)
        self.setToolTip("Colours available at the lightness under the cursor (a*b* plane); "
                        "hatched colours do not exist at this lightness - clicks snap to the "
                        "nearest one that does")
        self.l_star = 60.0
        self.ab = (30.0, 20.0)
        self._image: QImage | None = None
        self._render()

    def set_lightness(self, l_star: float) -> None:
        l_star = float(np.clip(l_star, 1.0, 99.0))
        if abs(l_star - self.l_star) < 0.5:
            return
        self.l_star = l_star
        self._render()
        self.update()

    def set_colour(self, rgb: tuple[int, int, int]) -> None:
        _, a, b = rgb8_to_lab(rgb)
        self.ab = (a, b)
        self.update()

    def current_rgb(self) -> tuple[int, int, int]:
        a, b = snap_ab(self.l_star, *self.ab)
        return lab_to_rgb8(self.l_star, a, b)

    def _render(self) -> None:
        n = self.SIZE
        v = np.linspace(-AB_RANGE, AB_RANGE, n, dtype=np.float32)
        a, b = np.meshgrid(v, -v)  # b* grows upwards
        lab = np.stack([np.full_like(a, self.l_star), a, b], -1)
        rgb = lab_to_rgb(lab, clip=False)
        ok = np.all((rgb >= -1e-3) & (rgb <= 1 + 1e-3), -1)
        rgb = np.clip(rgb, 0, 1)
        grey = np.float32(0.5)
        hatch = ((np.add.outer(np.arange(n), np.arange(n)) // 4) % 2).astype(np.float32)
        rgb[~ok] = (grey * 0.6 + 0.15 * hatch[~ok])[:, None]
        px = np.ascontiguousarray((rgb * 255 + 0.5).astype(np.uint8))
        self._image = QImage(px.data, n, n, px.strides[0], QImage.Format.Format_RGB888).copy()

    def _pos_to_ab(self, pos: QPointF) -> tuple[float, float]:
        n = self.SIZE - 1
        a = -AB_RANGE + 2 * AB_RANGE * pos.x() / n
        b = AB_RANGE - 2 * AB_RANGE * pos.y() / n
        return float(np.clip(a, -AB_RANGE, AB_RANGE)), float(np.clip(b, -AB_RANGE, AB_RANGE))

    def _ab_to_pos(self, a: float, b: float) -> QPointF:
        n = self.SIZE - 1
        return QPointF((a + AB_RANGE) / (2 * AB_RANGE) * n, (AB_RANGE - b) / (2 * AB_RANGE) * n)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._choose(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._choose(event.position())

    def _choose(self, pos: QPointF) -> None:
        self.ab = snap_ab(self.l_star, *self._pos_to_ab(pos))
        self.update()
        self.colourChosen.emit(*self.current_rgb())

    def paintEvent(self, event) -> None:  # noqa: ANN001, N802
        p = QPainter(self)
        if self._image is not None:
            p.drawImage(0, 0, self._image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = self._ab_to_pos(*snap_ab(self.l_star, *self.ab))
        p.setPen(QPen(QColor(0, 0, 0), 3))
        p.drawEllipse(c, 6, 6)
        p.setPen(QPen(QColor(255, 255, 255), 1.5))
        p.drawEllipse(c, 6, 6)
        p.setPen(QColor(255, 255, 255))
        p.drawText(QRectF(4, 2, 100, 16), Qt.AlignmentFlag.AlignLeft, f"L* {self.l_star:.0f}")


class SwatchRow(QWidget):
    """A row of clickable colour swatches (recent colours, suggestions)."""

    chosen = Signal(int, int, int)

    def __init__(self, count: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        self.buttons: list[QToolButton] = []
        self.colours: list[tuple[int, int, int]] = []
        for _ in range(count):
            b = QToolButton(self)
            b.setFixedSize(QSize(20, 20))
            b.setAutoRaise(False)
            b.clicked.connect(lambda _=False, btn=b: self._clicked(btn))
            lay.addWidget(b)
            self.buttons.append(b)
        lay.addStretch(1)
        self.set_colours([])

    def set_colours(self, colours: list[tuple[int, int, int]]) -> None:
        self.colours = list(colours)[: len(self.buttons)]
        for i, b in enumerate(self.buttons):
            if i < len(self.colours):
                r, g, bl = self.colours[i]
                b.setStyleSheet(f"background-color: rgb({r},{g},{bl}); border: 1px solid #777;")
                b.setToolTip(f"#{r:02x}{g:02x}{bl:02x}")
                b.setEnabled(True)
            else:
                b.setStyleSheet("background: transparent; border: 1px dashed #777;")
                b.setToolTip("")
                b.setEnabled(False)

    def _clicked(self, btn: QToolButton) -> None:
        i = self.buttons.index(btn)
        if i < len(self.colours):
            self.chosen.emit(*self.colours[i])
