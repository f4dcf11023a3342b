"""Export options: file format, bit depth, quality, comparison image; one file or a folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QSpinBox,
                               QWidget)

FORMATS = {"PNG": ".png", "TIFF": ".tif", "JPEG": ".jpg", "WebP": ".webp"}
SUFFIX = "_colorized"
COMPARE_SUFFIX = "_compare"


@dataclass
class ExportOptions:
    ext: str = ".png"
    depth: int | None = None  # None: same as the original
    quality: int = 95
    compare: bool = False
    target: Path | None = None  # a file (single export) or a folder (batch); None: beside


def default_output(src: Path, ext: str, folder: Path | None = None,
                   suffix: str = SUFFIX) -> Path:
    """`<stem>_colorized<ext>` beside the original or in `folder`; never the original."""
    out = (folder or src.parent) / f"{src.stem}{suffix}{ext}"
    if out.resolve() == src.resolve():  # e.g. opening an earlier output: add another suffix
        out = out.with_name(f"{src.stem}{suffix}{suffix}{ext}")
    return out


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
        form.addRow(self.compare)
        form.addRow("Output folder" if batch else "Save as", row)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                               | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
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
        if not self.batch and self.target.text():
            self.target.setText(str(Path(self.target.text()).with_suffix(self.ext())))

    def _browse(self) -> None:
        if self.batch:
            d = QFileDialog.getExistingDirectory(self, "Output folder", self.target.text())
            if d:
                self.target.setText(d)
        else:
            f, _ = QFileDialog.getSaveFileName(self, "Save colourised photo", self.target.text())
            if f:
                self.target.setText(f)

    def options(self) -> ExportOptions:
        text = self.target.text().strip()
        return ExportOptions(self.ext(), {0: None, 1: 8, 2: 16}[self.depth.currentIndex()],
                             self.quality.value(), self.compare.isChecked(),
                             Path(text).expanduser() if text else None)
