"""The training wizard's building blocks: page ids, small helpers, the loss curve, the
folder drop zone and the before/after preview grid (no torch)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (QColor, QDragEnterEvent, QDropEvent, QImage, QPainter,
                           QPainterPath, QPalette, QPen, QPixmap)
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QWidget

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
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


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
