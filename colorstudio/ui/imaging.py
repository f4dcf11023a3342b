"""NumPy <-> Qt image helpers and a pixmap pyramid for smooth drawing of very large photos.

Conversions happen once per image change, never per repaint: a photo becomes a pyramid of
QImages (full size, 1/2, 1/4, ... down to a screen-sized level) and the canvas draws only the
visible source rectangle of the level that matches the zoom. QImage (unlike QPixmap) may be
built on any thread, so pyramids of large photos are built by the engine's worker thread and
the GUI thread only draws them.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage

from ..core.color import l_to_grey

_GREY_LUT = np.clip(l_to_grey(np.linspace(0, 100, 4097, dtype=np.float32)) * 255 + 0.5,
                    0, 255).astype(np.uint8)


def l_to_grey8(l_star: np.ndarray) -> np.ndarray:
    """L* (H, W) float [0, 100] -> display grey uint8 (H, W) through a 4097-entry lookup table."""
    idx = np.clip(l_star * 40.96, 0, 4096).astype(np.int32)
    return _GREY_LUT[idx]


def to_qimage(arr: np.ndarray) -> QImage:
    """uint8 (H, W) grey or (H, W, 3) RGB -> a QImage that owns a copy of the pixels."""
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        img = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_Grayscale8)
    else:
        img = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888)
    return img.copy()


def qimage_to_rgb(img: QImage) -> np.ndarray:
    """QImage -> uint8 (H, W, 3) RGB copy."""
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


class Pyramid:
    """One image at 1, 1/2, 1/4 ... of its size (smallest level <= `min_side`), as QImages.

    Thread-safe to build (the worker does it for large photos)."""

    def __init__(self, arr: np.ndarray, min_side: int = 512) -> None:
        self.width, self.height = arr.shape[1], arr.shape[0]
        self.levels: list[QImage] = [to_qimage(arr)]
        cur = arr
        while max(cur.shape[:2]) > min_side and min(cur.shape[:2]) >= 4:
            cur = cv2.resize(cur, (max(1, cur.shape[1] // 2), max(1, cur.shape[0] // 2)),
                             interpolation=cv2.INTER_AREA)
            self.levels.append(to_qimage(cur))

    @classmethod
    def of_lightness(cls, l_star: np.ndarray) -> Pyramid:
        """The display grey of L* (H, W) as a pyramid."""
        return cls(l_to_grey8(l_star))

    def level_for(self, scale: float, space_width: float) -> tuple[QImage, float]:
        """The smallest level with at least `scale` level pixels per image-space pixel, and
        its factor (level pixels per image-space pixel). The image space is `space_width`
        wide: a preview proxy is drawn over the full-resolution photo's coordinates."""
        best, factor = self.levels[0], self.levels[0].width() / space_width
        for pm in self.levels:
            f = pm.width() / space_width
            if f >= scale:
                best, factor = pm, f
            else:
                break
        return best, factor
