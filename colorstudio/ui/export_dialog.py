"""Export options: file format, bit depth, quality, TIFF compression, comparison image; one file
or a folder. The choices are remembered between exports (QSettings, `load_options` /
`save_options`); the file or folder is chosen per export.

Output names: `<stem>_colorized<ext>`, the comparison beside it as `<stem>_compare<ext>`
(`compare_path`). `free_output` finds a name nothing else uses (batch clashes such as a.png and
a.jpg, or "keep both" when an output exists already).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QSpinBox,
                               QWidget)

FORMATS = {"PNG": ".png", "TIFF": ".tif", "JPEG": ".jpg", "WebP": ".webp"}
# The same choices as `colorstudio colorize --compression` (core.imageio.TIFF_COMPRESSIONS).
COMPRESSIONS = {"Deflate (lossless, smallest)": "deflate", "LZW (lossless)": "lzw",
                "None": "none"}
SUFFIX = "_colorized"
COMPARE_SUFFIX = "_compare"


@dataclass
class ExportOptions:
    ext: str = ".png"
    depth: int | None = None  # None: same as the original
    quality: int = 95
    compare: bool = False
    target: Path | None = None  # a file (single export) or a folder (batch); None: beside
    compression: str = "deflate"  # TIFF only: none, lzw or deflate


def load_options(settings: QSettings | None, **override: object) -> ExportOptions:
    """The export choices remembered in `settings` (defaults where none or invalid)."""
    opts = ExportOptions()
    if settings is not None:
        ext = settings.value("export/format", opts.ext, str)
        depth = settings.value("export/depth", 0, int)
        quality = settings.value("export/quality", opts.quality, int)
        compression = settings.value("export/compression", opts.compression, str)
        opts = ExportOptions(
            ext if ext in FORMATS.values() else ".png",
            depth if depth in (8, 16) else None,
            quality if 1 <= quality <= 100 else 95,
            settings.value("export/compare", False, bool),
            None,
            compression if compression in COMPRESSIONS.values() else "deflate")
    for k, v in override.items():
        setattr(opts, k, v)
    return opts


def save_options(settings: QSettings | None, opts: ExportOptions) -> None:
    """Remember the choices (not the target: that belongs to one photo or folder)."""
    if settings is None:
        return
    settings.setValue("export/format", opts.ext)
    settings.setValue("export/depth", opts.depth or 0)
    settings.setValue("export/quality", opts.quality)
    settings.setValue("export/compare", opts.compare)
    settings.setValue("export/compression", opts.compression)


def default_output(src: Path, ext: str, folder: Path | None = None,
                   suffix: str = SUFFIX) -> Path:
    """`<stem>_colorized<ext>` beside the original or in `folder`; never the original."""
    out = (folder or src.parent) / f"{src.stem}{suffix}{ext}"
    if out.resolve() == src.resolve():  # e.g. opening an earlier output: add another suffix
        out = out.with_name(f"{src.stem}{suffix}{suffix}{ext}")
    return out


def compare_path(dst: Path) -> Path:
    """The comparison image that goes with the output `dst`: `a_colorized.png` ->
    `a_compare.png`, `mine.jpg` -> `mine_compare.jpg` (so two outputs never share one)."""
    stem = dst.stem[: -len(SUFFIX)] if dst.stem.endswith(SUFFIX) else dst.stem
    return dst.with_name(f"{stem}{COMPARE_SUFFIX}{dst.suffix}")


def numbered(dst: Path, taken: Callable[[Path], bool]) -> Path:
    """`dst` or, when `taken`, the first free `a-2_colorized.png`, `a-3_colorized.png`, ...
    (`mine.jpg` -> `mine-2.jpg`): the `_colorized` suffix stays last."""
    if not taken(dst):
        return dst
    stem, tail = ((dst.stem[: -len(SUFFIX)], SUFFIX) if dst.stem.endswith(SUFFIX)
                  else (dst.stem, ""))
    return next(c for n in itertools.count(2)
                if not taken(c := dst.with_name(f"{stem}-{n}{tail}{dst.suffix}")))


def free_output(src: Path, ext: str, folder: Path | None, taken: Callable[[Path], bool],
                clashes: Callable[[Path], bool] = lambda p: False) -> Path:
    """An output name for `src` that `taken` does not reject and that is not `src` itself.

    `a_colorized.png`; when another photo of the batch `clashes` on that name (a.png and a.jpg
    into one folder) `a_jpg_colorized.png`, with the original's format in the name; then
    numbered: `a-2_colorized.png`, ... Every candidate ends in `_colorized`, so re-opening the
    folder never lists an output as a photo."""
    first = default_output(src, ext, folder)
    if clashes(first):
        fmt = src.suffix.lstrip(".").lower() or "image"
        first = first.with_name(f"{src.stem}_{fmt}{SUFFIX}{ext}")
    me = src.resolve()
    return numbered(first, lambda p: p.resolve() == me or taken(p))


class ExportDialog(QDialog):
    def __init__(self, sources: list[Path], batch: bool, parent: QWidget | None = None,
                 options: ExportOptions | None = None) -> None:
        super().__init__(parent)
        self.sources = sources
        self.batch = batch
        self.setWindowTitle(f"Export {len(sources)} photos" if batch else "Export")
        opts = options or ExportOptions()
        self.format = QComboBox()
        self.format.addItems(list(FORMATS))
        self.format.setCurrentIndex(max(0, list(FORMATS.values()).index(opts.ext)
                                        if opts.ext in FORMATS.values() else 0))
        self.depth = QComboBox()
        self.depth.addItems(["Same as the original", "8 bits per channel",
                             "16 bits per channel"])
        self.depth.setCurrentIndex({None: 0, 8: 1, 16: 2}.get(opts.depth, 0))
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(opts.quality)
        self.compression = QComboBox()
        self.compression.addItems(list(COMPRESSIONS))
        values = list(COMPRESSIONS.values())
        self.compression.setCurrentIndex(values.index(opts.compression)
                                         if opts.compression in values else 0)
        self.compare = QCheckBox("Also save a side-by-side comparison (original | colourised)")
        self.compare.setChecked(opts.compare)
        self.target = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.target, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("Bit depth", self.depth)
        form.addRow("Quality (JPEG/WebP)", self.quality)
        form.addRow("Compression (TIFF)", self.compression)
        form.addRow(self.compare)
        form.addRow("Output folder" if batch else "Save as", row)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                               | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        self.buttons = box
        form.addRow(box)
        self.format.currentIndexChanged.connect(self._format_changed)
        if opts.target is not None:
            self.target.setText(str(opts.target))
        elif batch:
            self.target.setText(str(sources[0].parent / "colorized") if sources else "")
        else:
            self.target.setText(str(default_output(sources[0], self.ext())))
        self._format_changed()

    def ext(self) -> str:
        return FORMATS[self.format.currentText()]

    def _format_changed(self) -> None:
        lossy = self.ext() in (".jpg", ".webp")
        self.quality.setEnabled(lossy)
        self.depth.setEnabled(self.ext() in (".png", ".tif"))
        self.compression.setEnabled(self.ext() == ".tif")
        if not self.batch and self.target.text():
            self.target.setText(str(Path(self.target.text()).with_suffix(self.ext())))

    def _browse(self) -> None:
        if self.batch:
            d = QFileDialog.getExistingDirectory(self, "Output folder", self.target.text())
            if d:
                self.target.setText(d)
        else:
            # The window asks before replacing a file (for typed names too): not twice.
            f, _ = QFileDialog.getSaveFileName(
                self, "Save colourised photo", self.target.text(),
                options=QFileDialog.Option.DontConfirmOverwrite)
            if f:
                self.target.setText(f)

    def options(self) -> ExportOptions:
        text = self.target.text().strip()
        return ExportOptions(self.ext(), {0: None, 1: 8, 2: 16}[self.depth.currentIndex()],
                             self.quality.value(), self.compare.isChecked(),
                             Path(text).expanduser() if text else None,
                             COMPRESSIONS[self.compression.currentText()])
