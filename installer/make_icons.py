"""Render resources/icons/colorstudio.svg into the PNG, ICO and ICNS files the installers use.

    python installer/make_icons.py

PNGs (16-512 px) go to the Linux hicolor theme and the docs; colorstudio.ico to Windows
(Inno Setup and the .exe); colorstudio.icns to the macOS .app. The outputs are committed,
so building an installer does not need this step; run it after changing the SVG.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
PNG_SIZES = (16, 32, 48, 64, 128, 256, 512)


def render_png(svg: Path, size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {svg} is not a valid SVG")
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(0)
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    return bytes(data.data())


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    svg = ICONS / "colorstudio.svg"
    images = {}
    for size in PNG_SIZES:
        data = render_png(svg, size)
        (ICONS / f"colorstudio-{size}.png").write_bytes(data)
        images[size] = Image.open(io.BytesIO(data)).convert("RGBA")
    images[256].save(ICONS / "colorstudio.ico", sizes=[(s, s) for s in (16, 32, 48, 64, 128, 256)])
    images[512].save(ICONS / "colorstudio.icns")
    print(f"wrote {len(PNG_SIZES)} PNGs, colorstudio.ico and colorstudio.icns to {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
