"""The window's chrome: the welcome page, the actions with their shortcuts, the menus, the
toolbar, the status bar, view modes and tools, drops, and the window's remembered layout.
A mixin of `MainWindow`: it builds widgets and connects them to the window's slots; what
the actions do lives in the window and its controllers.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import (QAction, QActionGroup, QDragEnterEvent, QDropEvent, QIcon,
                           QKeySequence)
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QListWidget, QMessageBox,
                               QProgressBar, QPushButton, QToolButton, QVBoxLayout, QWidget)

from .theme import icon


class WindowChrome:
    """Builds `welcome`, the `a_*` actions, `tool_actions`, menus, `toolbar`, `model_combo`
    and the status-bar widgets onto the window (`self` is the `MainWindow`)."""

    def _build_welcome(self) -> QWidget:
        w = QWidget()
        outer = QVBoxLayout(w)
        outer.addStretch(1)
        title = QLabel("<h1>ColorStudio</h1><p>Colourise grayscale photographs at full "
                       "resolution, guided by your colour hints.</p>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(title)
        self.sample_button = QToolButton()
        self.sample_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        self.sample_button.setText("Colourise the sample photo")
        self.sample_button.setIconSize(QSize(300, 200))
        sample = self.services.sample_path
        if sample is not None and sample.is_file():
            self.sample_button.setIcon(QIcon(str(sample)))
        else:
            self.sample_button.setEnabled(False)
        self.sample_button.clicked.connect(self.open_sample)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.sample_button)
        row.addStretch(1)
        outer.addLayout(row)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.welcome_open = QPushButton(icon("mdi6.folder-open"), "Open photos…")
        self.welcome_folder = QPushButton(icon("mdi6.folder-multiple-image"), "Open a folder…")
        self.welcome_open.clicked.connect(self.open_files_dialog)
        self.welcome_folder.clicked.connect(self.open_folder_dialog)
        buttons.addWidget(self.welcome_open)
        buttons.addWidget(self.welcome_folder)
        buttons.addStretch(1)
        outer.addLayout(buttons)
        hint = QLabel("…or drop photos and folders anywhere on this window.")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setEnabled(False)
        outer.addWidget(hint)
        self.welcome_recent = QListWidget()
        self.welcome_recent.setMaximumSize(520, 140)
        self.welcome_recent.itemActivated.connect(
            lambda it: self.open_paths([Path(it.data(Qt.ItemDataRole.UserRole))]))
        rrow = QHBoxLayout()
        rrow.addStretch(1)
        rrow.addWidget(self.welcome_recent)
        rrow.addStretch(1)
        outer.addLayout(rrow)
        outer.addStretch(2)
        return w

    def _act(self, text: str, slot, shortcut: str | QKeySequence.StandardKey | None = None,
             icon_name: str | None = None, checkable: bool = False, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if icon_name:
            a.setIcon(icon(icon_name))
            self._icons.append((a, icon_name))
        a.setCheckable(checkable)
        if tip or shortcut:
            keys = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            a.setToolTip(f"{tip or text.replace('…', '')}" + (f" ({keys})" if keys else ""))
        if slot is not None:
            a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._act
        SK = QKeySequence.StandardKey
        self.a_open = A("&Open photos…", self.open_files_dialog, SK.Open, "mdi6.folder-open")
        self.a_open_dir = A("Open &folder…", self.open_folder_dialog, "Ctrl+Shift+O",
                            "mdi6.folder-multiple-image")
        self.a_export = A("&Export colourised…", self.export_dialog, "Ctrl+E", "mdi6.export")
        self.a_compare = A("Export &comparison…", lambda: self.export_dialog(compare=True),
                           "Ctrl+Shift+E", "mdi6.compare-horizontal")
        self.a_batch = A("&Batch export all photos…", self.batch_export_dialog, "Ctrl+Alt+E",
                         "mdi6.image-multiple")
        self.a_close = A("&Close photo", self.close_current, SK.Close)
        self.a_quit = A("&Quit", self.close, SK.Quit)
        self.a_undo = self.undo_group.createUndoAction(self, "&Undo")
        self.a_undo.setShortcut(SK.Undo)
        self.a_undo.setIcon(icon("mdi6.undo"))
        self._icons.append((self.a_undo, "mdi6.undo"))
        self.a_redo = self.undo_group.createRedoAction(self, "&Redo")
        self.a_redo.setShortcuts([QKeySequence(SK.Redo), QKeySequence("Ctrl+Y")])
        self.a_redo.setIcon(icon("mdi6.redo"))
        self._icons.append((self.a_redo, "mdi6.redo"))
        self.addAction(self.a_undo)
        self.addAction(self.a_redo)
        self.a_clear_hints = A("C&lear all hints", self.clear_hints, "Ctrl+Shift+Backspace")
        self.a_zoom_in = A("Zoom &in", lambda: self.canvas.zoom_by(1.25), SK.ZoomIn,
                           "mdi6.magnify-plus")
        self.a_zoom_in.setShortcuts([QKeySequence(SK.ZoomIn), QKeySequence("+"),
                                     QKeySequence("=")])
        self.a_zoom_out = A("Zoom &out", lambda: self.canvas.zoom_by(0.8), SK.ZoomOut,
                            "mdi6.magnify-minus")
        self.a_zoom_out.setShortcuts([QKeySequence(SK.ZoomOut), QKeySequence("-")])
        self.a_fit = A("&Fit to window", self.canvas.fit, "Ctrl+0", "mdi6.fit-to-screen")
        self.a_100 = A("&Actual pixels (100 %)", self.canvas.actual_size, "Ctrl+1",
                       "mdi6.numeric-1-box")
        self.mode_group = QActionGroup(self)
        self.a_split = A("&Split view", lambda: self.set_mode("split"), "1",
                         "mdi6.view-split-vertical", True, "Split view with a draggable divider")
        self.a_side = A("Side &by side", lambda: self.set_mode("side"), "2",
                        "mdi6.compare-horizontal", True)
        self.a_toggle = A("&Toggle view (hold \\ for the original)",
                          lambda: self.set_mode("toggle"), "3", "mdi6.swap-horizontal", True)
        for a in (self.a_split, self.a_side, self.a_toggle):
            self.mode_group.addAction(a)
        self.a_show_hints = A("Show &hints", self._toggle_hints, "Ctrl+H", "mdi6.eye", True)
        self.a_show_hints.setChecked(True)
        self.tool_group = QActionGroup(self)
        self.tool_actions = {
            "pan": A("&Pan", lambda: self.set_tool("pan"), "H", "mdi6.hand-back-right", True,
                     "Pan (or drag with the middle button, or hold Space)"),
            "brush": A("&Brush", lambda: self.set_tool("brush"), "B", "mdi6.brush", True,
                       "Paint colour strokes"),
            "point": A("P&oint", lambda: self.set_tool("point"), "P", "mdi6.square-medium", True,
                       "Colour points: click adds, drag moves, right-click removes"),
            "eraser": A("&Eraser", lambda: self.set_tool("eraser"), "E", "mdi6.eraser", True,
                        "Erase hints under the brush"),
            "picker": A("Pick colour from &result", lambda: self.set_tool("picker"), "I",
                        "mdi6.eyedropper", True),
        }
        for a in self.tool_actions.values():
            self.tool_group.addAction(a)
        self.a_smaller = A("Smaller brush", lambda: self.brush_spin.setValue(
            max(1, int(self.brush_spin.value() / 1.25))), "[")
        self.a_bigger = A("Bigger brush", lambda: self.brush_spin.setValue(
            int(self.brush_spin.value() * 1.25) + 1), "]")
        self.a_colourise = A("&Colourise", lambda: self.colourise(), "F5", "mdi6.palette",
                             tip="Colourise the photo with the current model")
        self.a_colourise.setShortcuts([QKeySequence("F5"), QKeySequence("Ctrl+R")])
        self.a_cancel = A("Ca&ncel", self.cancel_jobs, "Esc", "mdi6.stop-circle",
                          tip="Cancel the running job")
        self.a_live = A("&Live preview while painting", None, None, None, True)
        self.a_live.setChecked(True)
        self.a_models = A("&Models…", self.open_model_manager, "Ctrl+M", "mdi6.cube-outline",
                          tip="Model manager")
        self.a_train = A("&Train on my photos…", self.open_training_wizard, "Ctrl+Shift+T",
                         "mdi6.school")
        self.a_next = A("&Next photo", lambda: self._step_photo(1), "Alt+Right")
        self.a_prev = A("&Previous photo", lambda: self._step_photo(-1), "Alt+Left")
        self.a_about = A("&About ColorStudio", self._about)
        self.a_keys = A("&Keyboard shortcuts", self._shortcuts_help, SK.HelpContents)

    def _build_menus_and_toolbar(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([self.a_open, self.a_open_dir])
        self.recent_menu = m.addMenu("Open &recent")
        m.addSeparator()
        m.addActions([self.a_export, self.a_compare, self.a_batch])
        m.addSeparator()
        m.addActions([self.a_close, self.a_quit])
        m = mb.addMenu("&Edit")
        m.addActions([self.a_undo, self.a_redo, self.a_clear_hints])
        m = mb.addMenu("&View")
        m.addActions([self.a_zoom_in, self.a_zoom_out, self.a_fit, self.a_100])
        m.addSeparator()
        m.addActions([self.a_split, self.a_side, self.a_toggle, self.a_show_hints])
        m.addSeparator()
        for d in (self.film_dock, self.hints_dock, self.pre_dock):
            m.addAction(d.toggleViewAction())
        m.addSeparator()
        m.addActions([self.a_prev, self.a_next])
        m = mb.addMenu("&Hints")
        m.addActions(list(self.tool_actions.values()))
        m.addSeparator()
        m.addActions([self.a_smaller, self.a_bigger, self.a_live])
        m = mb.addMenu("&Colourise")
        m.addActions([self.a_colourise, self.a_cancel])
        m.addSeparator()
        m.addAction(self.a_models)
        m = mb.addMenu("&Tools")
        m.addActions([self.a_train, self.a_models])
        m = mb.addMenu("He&lp")
        m.addActions([self.a_keys, self.a_about])

        tb = self.addToolBar("Main")
        tb.setObjectName("toolbar-main")
        tb.setIconSize(QSize(20, 20))
        tb.addActions([self.a_open, self.a_export])
        tb.addSeparator()
        tb.addAction(self.a_colourise)
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(220)
        self.model_combo.setToolTip("Model used for colourisation")
        self.model_combo.activated.connect(self._model_combo_activated)
        tb.addWidget(self.model_combo)
        tb.addActions([self.a_models, self.a_cancel])
        tb.addSeparator()
        tb.addActions([self.a_undo, self.a_redo])
        tb.addSeparator()
        tb.addActions(list(self.tool_actions.values()))
        tb.addSeparator()
        tb.addActions([self.a_split, self.a_side, self.a_toggle])
        tb.addSeparator()
        tb.addActions([self.a_zoom_out, self.a_fit, self.a_100, self.a_zoom_in])
        self.toolbar = tb

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.device_label = QLabel("Device: starting…")
        self.model_label = QLabel("Model: none")
        self.size_label = QLabel("")
        self.zoom_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(180)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(self.a_cancel)
        self.cancel_button.hide()
        for w in (self.size_label, self.zoom_label, self.progress, self.cancel_button):
            sb.addPermanentWidget(w)
        sb.addPermanentWidget(self.model_label)
        sb.addPermanentWidget(self.device_label)

    def _about(self) -> None:
        from .. import __version__

        QMessageBox.about(self, "About ColorStudio",
                          f"<h3>ColorStudio {__version__}</h3><p>Colourise grayscale "
                          "photographs at full resolution with colour hints.</p>")

    def _shortcuts_help(self) -> None:
        rows = []
        for a in self.actions():
            keys = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys and a.text():
                rows.append(f"<tr><td>{a.text().replace('&', '')}</td><td><b>{keys}</b></td></tr>")
        rows.append("<tr><td>Show the original while held</td><td><b>\\</b></td></tr>")
        rows.append("<tr><td>Pan while held (drag)</td><td><b>Space</b></td></tr>")
        QMessageBox.information(self, "Keyboard shortcuts", "<table>" + "".join(rows)
                                + "</table>")

    def refresh_icons(self) -> None:
        """Re-colour the icons after a light/dark switch."""
        for a, name in self._icons:
            a.setIcon(icon(name))  # type: ignore[attr-defined]

    # ----- view -----
    def set_tool(self, tool: str) -> None:
        if tool not in self.tool_actions:
            tool = "brush"
        self.canvas.set_tool(tool)
        self.tool_actions[tool].setChecked(True)

    def set_mode(self, mode: str) -> None:
        if mode not in ("split", "side", "toggle"):
            mode = "split"
        self.canvas.set_mode(mode)
        {"split": self.a_split, "side": self.a_side, "toggle": self.a_toggle}[mode].setChecked(
            True)

    def _toggle_hints(self) -> None:
        self.canvas.show_hints = self.a_show_hints.isChecked()
        self.canvas.update()

    # ----- drag and drop -----
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: ANN001, N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def _engine_ready(self, description: str) -> None:
        self.device_label.setText(f"Device: {description}")

    def _update_zoom_label(self) -> None:
        self.zoom_label.setText(f"{self.canvas.zoom * 100:.0f} %" if self.canvas.img_w else "")

    # ----- settings -----
    def _restore_settings(self) -> None:
        s = self.settings
        geo = s.value("window/geometry")
        if isinstance(geo, QByteArray) and not geo.isEmpty():
            self.restoreGeometry(geo)
        else:
            self.resize(1400, 900)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        self.set_mode(s.value("view/mode", "split", str))
        self.set_tool(s.value("tools/tool", "brush", str))
        self.brush_spin.setValue(int(s.value("tools/brush", 12)))
        try:
            rgb = json.loads(s.value("colours/current", "", str) or "null") or [200, 60, 50]
        except (ValueError, TypeError):
            rgb = [200, 60, 50]
        self.set_colour(tuple(rgb))
        self.a_live.setChecked(s.value("tools/live", True, bool))
        self.hints.recent_row.set_colours(self.recent_colours)
        self.photos.update_recent_menu()

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("view/mode", self.canvas.mode)
        s.setValue("tools/tool", self.canvas.tool)
        s.setValue("tools/live", self.a_live.isChecked())
        self.hints.save_settings()
        if self.model_id:
            s.setValue("models/current", self.model_id)
        s.sync()
