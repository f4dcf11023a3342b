"""The photos room: the filmstrip, opening files and folders (dialogs, drops, the sample),
"Open recent", thumbnails and closing a photo.

Opening only adds `Document`s and asks the window to show the first new one; the reading
itself is a background job (`JobKind.LOAD`, or `THUMB` for the filmstrip's other photos).
"Open recent" lists only what opened: a folder once photos were found in it, a file once it
was read (a file that fails to open is taken off the list).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QFileDialog, QListWidget, QListWidgetItem

from ..core.imageio import READ_FORMATS
from ..core.jobs import JobKind, scan_paths
from .document import Document, make_proxy
from .imaging import Pyramid, l_to_grey8, to_qimage
from .theme import icon

if TYPE_CHECKING:
    from .main_window import MainWindow

MAX_RECENT = 10
THUMB = 96


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; folders searched recursively for photos (skipping our own outputs)."""
    return [f for f, _ in scan_paths([p for p in map(Path, paths) if p.exists()]).files]


def thumb_icon(arr: np.ndarray) -> QIcon:
    """A THUMB x THUMB icon with the photo centred on a transparent square.

    Every filmstrip icon has the same size whatever the photo's aspect, so replacing one
    (placeholder -> grey thumbnail -> colourised) never moves its item's name: a view that
    repaints only the new item rectangle left the old name and photo edges behind."""
    h, w = arr.shape[:2]
    s = THUMB / max(h, w)
    import cv2

    small = cv2.resize(arr, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_AREA)
    photo = QPixmap.fromImage(to_qimage(small))
    pm = QPixmap(THUMB, THUMB)
    pm.fill(Qt.GlobalColor.transparent)  # a new QPixmap holds garbage: black fragments
    painter = QPainter(pm)
    painter.drawPixmap((THUMB - photo.width()) // 2, (THUMB - photo.height()) // 2, photo)
    painter.end()
    ic = QIcon(pm)
    ic.addPixmap(pm, QIcon.Mode.Selected)  # no highlight tint over the photo's colours
    return ic


def prepare(path: Path) -> tuple:
    """Worker side: read a photo; its proxy L* and the full-resolution grey pyramid."""
    from ..core.imageio import read_image

    image = read_image(path)
    return image, make_proxy(image.l_star), Pyramid.of_lightness(image.l_star)


def thumbnail(path: Path) -> np.ndarray:
    """Worker side: a small grey thumbnail (uint8) of a photo for the filmstrip."""
    import cv2

    from ..core.imageio import read_image

    l_star = read_image(path).l_star
    h, w = l_star.shape
    s = min(1.0, 2 * THUMB / max(h, w))
    small = cv2.resize(l_star, (max(1, int(w * s)), max(1, int(h * s))),
                       interpolation=cv2.INTER_AREA)
    return l_to_grey8(small)


class PhotosController(QObject):
    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        # Files opened but not yet read: they join "Open recent" once they open.
        self._pending_recent: dict[Document, str] = {}
        self.filmstrip = self._build_filmstrip()

    def _build_filmstrip(self) -> QListWidget:
        f = QListWidget()
        f.setViewMode(QListWidget.ViewMode.IconMode)
        f.setFlow(QListWidget.Flow.LeftToRight)
        f.setWrapping(False)
        f.setIconSize(QSize(THUMB, THUMB))
        f.setMovement(QListWidget.Movement.Static)
        f.setGridSize(QSize(THUMB + 40, THUMB + 28))
        f.setFixedHeight(THUMB + 50)
        f.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        f.setWordWrap(False)
        f.setUniformItemSizes(True)
        f.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        f.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        f.currentRowChanged.connect(self._row_changed)
        return f

    # ----- dialogs -----
    def open_files_dialog(self) -> None:
        s = self.win.settings
        exts = " ".join(f"*{e}" for e in READ_FORMATS)
        files, _ = QFileDialog.getOpenFileNames(self.win, "Open photos",
                                                s.value("paths/last", "", str),
                                                f"Photos ({exts});;All files (*)")
        if files:
            s.setValue("paths/last", str(Path(files[0]).parent))
            self.open_paths([Path(f) for f in files])

    def open_folder_dialog(self) -> None:
        s = self.win.settings
        d = QFileDialog.getExistingDirectory(self.win, "Open a folder of photos",
                                             s.value("paths/last", "", str))
        if d:
            s.setValue("paths/last", d)
            self.open_paths([Path(d)])

    def open_sample(self) -> None:
        if self.win.services.sample_path is not None:
            self.open_paths([self.win.services.sample_path])

    # ----- opening -----
    def open_paths(self, paths: list[Path]) -> list[Document]:
        """Add photos (folders are searched) to the filmstrip and show the first new one."""
        win = self.win
        scan = scan_paths([Path(p) for p in paths])
        for p in scan.missing:
            self._remove_recent(p)
        if scan.folders:
            self._add_recent(scan.folders)
        if not scan.files:
            if scan.missing:
                win.banner.show_message(f"{scan.missing[0].name}: no such file or folder",
                                        "error")
            else:
                win.banner.show_message("No photos found there (supported: "
                                        + ", ".join(READ_FORMATS) + ").", "warning")
            return []
        known = {d.path.resolve(): d for d in win.docs}
        new: list[Document] = []
        first: Document | None = None
        for f, opened in scan.files:
            doc = known.get(f.resolve())
            if doc is None:
                doc = Document(f)
                known[f.resolve()] = doc
                win.docs.append(doc)
                win.undo_group.addStack(doc.undo)
                doc.undo.indexChanged.connect(lambda _i, d=doc: win.hints.save(d))
                it = QListWidgetItem(icon("mdi6.image-multiple"), f.name)
                it.setToolTip(str(f))
                self.filmstrip.addItem(it)
                new.append(doc)
            if not opened.is_dir():
                if doc.loaded:
                    self._add_recent([opened])
                else:
                    self._pending_recent[doc] = str(opened)
            first = first or doc
        for doc in new[1:]:
            jid = win.engine.submit(lambda ctx, p=doc.path: thumbnail(p), JobKind.THUMB,
                                    low_priority=True)
            win.jobs.add(jid, JobKind.THUMB, doc)
        if first is not None:
            win.select_document(first)
        if scan.missing:  # after moving to the new photo, which clears older messages
            win.banner.show_message(f"{scan.missing[0].name}: no such file or folder", "error")
        return new

    def opened(self, doc: Document, ok: bool) -> None:
        """A photo was read (or failed to): it joins, or leaves, "Open recent"."""
        entry = self._pending_recent.pop(doc, None)
        if ok and entry is not None:
            self._add_recent([Path(entry)])
        elif not ok:
            self._remove_recent(Path(entry) if entry is not None else doc.path)

    def failed(self, doc: Document, message: str) -> None:
        """A photo could not be read: a broken icon, the reason in its tooltip."""
        doc.error = message
        self.opened(doc, False)
        if doc in self.win.docs:
            item = self.filmstrip.item(self.win.docs.index(doc))
            item.setIcon(icon("mdi6.image-broken-variant"))
            item.setToolTip(f"{doc.path}\n{message}")

    def set_thumb(self, doc: Document, arr: np.ndarray) -> None:
        if doc in self.win.docs:
            self.filmstrip.item(self.win.docs.index(doc)).setIcon(thumb_icon(arr))
            self.filmstrip.viewport().update()

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.win.docs):
            self.win.select_document(self.win.docs[row])

    def step(self, delta: int) -> None:
        if self.win.docs:
            row = (self.filmstrip.currentRow() + delta) % len(self.win.docs)
            self.filmstrip.setCurrentRow(row)

    def remove(self, doc: Document) -> int:
        """Take a photo off the filmstrip (without moving to another): -> its old row."""
        win = self.win
        row = win.docs.index(doc)
        win.docs.remove(doc)
        self._pending_recent.pop(doc, None)
        win.undo_group.removeStack(doc.undo)
        win.jobs.forget(doc)
        self.filmstrip.blockSignals(True)
        self.filmstrip.takeItem(row)
        self.filmstrip.blockSignals(False)
        return row

    # ----- "Open recent" -----
    def recent_files(self) -> list[str]:
        try:
            raw = json.loads(self.win.settings.value("recent/files", "", str) or "null")
        except (ValueError, TypeError):
            raw = None
        return [p for p in raw or [] if isinstance(p, str)]

    def _add_recent(self, paths: list[Path]) -> None:
        recent = self.recent_files()
        for p in reversed(paths):
            sp = str(p)
            if sp in recent:
                recent.remove(sp)
            recent.insert(0, sp)
        self.win.settings.setValue("recent/files", json.dumps(recent[:MAX_RECENT]))
        self.update_recent_menu()

    def _remove_recent(self, path: Path) -> None:
        recent = self.recent_files()
        if str(path) in recent:
            recent.remove(str(path))
            self.win.settings.setValue("recent/files", json.dumps(recent))
            self.update_recent_menu()

    def update_recent_menu(self) -> None:
        menu, listing = self.win.recent_menu, self.win.welcome_recent
        menu.clear()
        listing.clear()
        recent = self.recent_files()
        for i, p in enumerate(recent):
            a = menu.addAction(f"&{(i + 1) % 10} {Path(p).name}")
            a.setToolTip(p)
            a.triggered.connect(lambda _=False, p=p: self.open_paths([Path(p)]))
            it = QListWidgetItem(icon("mdi6.folder-open" if Path(p).is_dir()
                                      else "mdi6.image-multiple"), p)
            it.setData(Qt.ItemDataRole.UserRole, p)
            listing.addItem(it)
        menu.setEnabled(bool(recent))
        listing.setVisible(bool(recent))
