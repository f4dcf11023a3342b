"""The main window: photos (open, recent, drag-and-drop of files and folders, filmstrip), the
before/after canvas, hint tools, preprocessing, models, background jobs and export.

The window talks to the engine only through the injected service (`services.engine`): jobs
with ids and the signals finished / failed / cancelled / progress. It never imports torch.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (QAction, QActionGroup, QCloseEvent, QColor, QDragEnterEvent,
                           QDropEvent, QIcon, QKeySequence, QPainter, QPixmap,
                           QStandardItemModel, QUndoGroup)
from PySide6.QtWidgets import (QColorDialog, QComboBox, QDockWidget, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                               QMessageBox, QProgressBar, QPushButton, QScrollArea, QSlider,
                               QSpinBox, QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from ..core.errors import ColorStudioError
from ..core.hints import HintSet, sidecar_path
from ..core.imageio import READ_FORMATS
from ..core.preprocess import Step, apply_steps
from .banner import Banner
from .canvas import BeforeAfterCanvas
from .colours import GamutPicker, SwatchRow, suggest_colours
from .document import Document, HintsCommand, make_proxy
from .export_dialog import (COMPARE_SUFFIX, ExportDialog, ExportOptions, compare_path,
                            default_output, free_output, load_options, numbered, save_options)
from .imaging import Pyramid, l_to_grey8, to_qimage
from .model_manager import ModelManager
from .preprocess_panel import PreprocessPanel
from .services import AppServices
from .theme import icon

log = logging.getLogger(__name__)
MAX_RECENT = 10
THUMB = 96
# Live previews run the network at this size (or the card's, if smaller): a 32-wide U-Net at
# 128 px is ~4x cheaper than at 256. The full-size job follows when the painting pauses.
PREVIEW_SIZE = 128


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; folders searched recursively for photos (skipping our own outputs)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if (f.is_file() and f.suffix.lower() in READ_FORMATS
                        and not f.stem.endswith(("_colorized", COMPARE_SUFFIX))
                        and not f.name.startswith(".")):
                    out.append(f)
        elif p.suffix.lower() in READ_FORMATS or p.is_file():
            out.append(p)
    return out


def _thumb_icon(arr: np.ndarray) -> QIcon:
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


class MainWindow(QMainWindow):
    resultShown = Signal(object)  # Document: a full-resolution result is on the canvas
    previewShown = Signal(object)  # Document: a live preview is on the canvas
    documentShown = Signal(object)  # Document: loaded and displayed
    exportDone = Signal(object)  # engine ExportSummary
    jobEnded = Signal(int, str)  # job id, "finished" | "failed" | "cancelled"

    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self.engine = services.engine
        self.settings = services.settings
        self.setWindowTitle("ColorStudio")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.docs: list[Document] = []
        self.current: Document | None = None
        self.model_id: str | None = None
        self._jobs: dict[int, tuple[str, Document | None]] = {}
        self._latest_preview: int | None = None
        self._latest_pre: dict[int, int] = {}
        self._job_keys: dict[int, tuple] = {}
        # Files opened but not yet read: they join "Open recent" once they open.
        self._pending_recent: dict[Document, str] = {}
        self._icons: list[tuple[object, str]] = []
        self._manager: ModelManager | None = None
        self._wizard: QWidget | None = None
        self._hover = (-1.0, -1.0)
        self.undo_group = QUndoGroup(self)
        self.recent_colours: list[tuple[int, int, int]] = self._load_json("colours/recent", [])
        self.recent_colours = [tuple(c) for c in self.recent_colours][:8]  # type: ignore[misc]

        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status()
        self._full_timer = QTimer(self, singleShot=True, interval=600)
        self._full_timer.timeout.connect(lambda: self.colourise(latest=True))
        self._suggest_timer = QTimer(self, singleShot=True, interval=120)
        self._suggest_timer.timeout.connect(self._update_suggestions)

        self.engine.ready.connect(self._engine_ready)
        self.engine.progress.connect(self._job_progress)
        self.engine.finished.connect(self._job_finished)
        self.engine.failed.connect(self._job_failed)
        self.engine.cancelled.connect(self._job_cancelled)
        self.services.listeners.append(self.refresh_models)
        if self.engine.device_description:
            self._engine_ready(self.engine.device_description)

        self.refresh_models()
        self._restore_settings()
        self._update_actions()

    # ================= construction =================
    def _build_central(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 0)
        lay.setSpacing(4)
        self.banner = Banner()
        lay.addWidget(self.banner)
        self.stack = QStackedWidget()
        self.welcome = self._build_welcome()
        self.canvas = BeforeAfterCanvas()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.canvas)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        c = self.canvas
        c.hintsEdited.connect(self._hints_edited)
        c.hintsDragging.connect(self._hints_dragging)
        c.hovered.connect(self._hovered)
        c.colourPicked.connect(lambda col: self.set_colour((col.red(), col.green(), col.blue())))
        c.viewChanged.connect(self._update_zoom_label)

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

    def _build_docks(self) -> None:
        # Filmstrip
        self.filmstrip = QListWidget()
        self.filmstrip.setViewMode(QListWidget.ViewMode.IconMode)
        self.filmstrip.setFlow(QListWidget.Flow.LeftToRight)
        self.filmstrip.setWrapping(False)
        self.filmstrip.setIconSize(QSize(THUMB, THUMB))
        self.filmstrip.setMovement(QListWidget.Movement.Static)
        self.filmstrip.setGridSize(QSize(THUMB + 40, THUMB + 28))
        self.filmstrip.setFixedHeight(THUMB + 50)
        self.filmstrip.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.filmstrip.setWordWrap(False)
        self.filmstrip.setUniformItemSizes(True)
        self.filmstrip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.filmstrip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.filmstrip.currentRowChanged.connect(self._filmstrip_changed)
        self.film_dock = self._dock("Photos", self.filmstrip,
                                    Qt.DockWidgetArea.BottomDockWidgetArea)

        # Hint tools
        tools = QWidget()
        form = QFormLayout(tools)
        self.colour_button = QToolButton()
        self.colour_button.setFixedSize(48, 24)
        self.colour_button.setToolTip("Hint colour (click for a colour dialog; it snaps to the "
                                      "colours that exist at the lightness under the cursor)")
        self.colour_button.clicked.connect(self._colour_dialog)
        self.picker = GamutPicker()
        self.picker.colourChosen.connect(lambda r, g, b: self.set_colour((r, g, b), snap=False))
        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setRange(1, 400)
        self.brush_spin = QSpinBox()
        self.brush_spin.setRange(1, 400)
        self.brush_spin.setSuffix(" px")
        self.brush_slider.valueChanged.connect(self.brush_spin.setValue)
        self.brush_spin.valueChanged.connect(self.brush_slider.setValue)
        self.brush_spin.valueChanged.connect(self._brush_changed)
        brow = QHBoxLayout()
        brow.addWidget(self.brush_slider, 1)
        brow.addWidget(self.brush_spin)
        self.recent_row = SwatchRow(8)
        self.recent_row.chosen.connect(lambda r, g, b: self.set_colour((r, g, b)))
        self.suggest_row = SwatchRow(6)
        self.suggest_row.setToolTip("Colours of the result around the cursor")
        self.suggest_row.chosen.connect(lambda r, g, b: self.set_colour((r, g, b)))
        self.hint_count = QLabel("No hints")
        form.addRow("Colour", self.colour_button)
        form.addRow(self.picker)
        form.addRow("Brush size", brow)
        form.addRow("Recent", self.recent_row)
        form.addRow("Suggested", self.suggest_row)
        form.addRow(self.hint_count)
        self.hints_dock = self._dock("Hints", tools, Qt.DockWidgetArea.RightDockWidgetArea)

        # Preprocessing
        self.preprocess = PreprocessPanel()
        self.preprocess.stepsChanged.connect(self._steps_changed)
        scroll = QScrollArea()
        scroll.setWidget(self.preprocess)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.preprocess.sizeHint().width() + 20)
        self.pre_dock = self._dock("Preprocessing", scroll, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.hints_dock, self.pre_dock)
        self.hints_dock.raise_()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(f"dock-{title.lower()}")
        d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

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

    # ================= settings =================
    def _load_json(self, key: str, default):  # noqa: ANN001, ANN202
        try:
            return json.loads(self.settings.value(key, "", str) or "null") or default
        except (ValueError, TypeError):
            return default

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
        rgb = self._load_json("colours/current", [200, 60, 50])
        self.set_colour(tuple(rgb))  # type: ignore[arg-type]
        self.a_live.setChecked(s.value("tools/live", True, bool))
        self.recent_row.set_colours(self.recent_colours)
        self._update_recent_menu()

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("view/mode", self.canvas.mode)
        s.setValue("tools/tool", self.canvas.tool)
        s.setValue("tools/brush", self.brush_spin.value())
        s.setValue("tools/live", self.a_live.isChecked())
        s.setValue("colours/current", json.dumps(list(self.canvas.colour)))
        s.setValue("colours/recent", json.dumps([list(c) for c in self.recent_colours]))
        if self.model_id:
            s.setValue("models/current", self.model_id)
        s.sync()

    def recent_files(self) -> list[str]:
        return [p for p in self._load_json("recent/files", []) if isinstance(p, str)]

    def _add_recent(self, paths: list[Path]) -> None:
        recent = self.recent_files()
        for p in reversed(paths):
            sp = str(p)
            if sp in recent:
                recent.remove(sp)
            recent.insert(0, sp)
        self.settings.setValue("recent/files", json.dumps(recent[:MAX_RECENT]))
        self._update_recent_menu()

    def _remove_recent(self, path: Path) -> None:
        recent = self.recent_files()
        if str(path) in recent:
            recent.remove(str(path))
            self.settings.setValue("recent/files", json.dumps(recent))
            self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        self.welcome_recent.clear()
        recent = self.recent_files()
        for i, p in enumerate(recent):
            a = self.recent_menu.addAction(f"&{(i + 1) % 10} {Path(p).name}")
            a.setToolTip(p)
            a.triggered.connect(lambda _=False, p=p: self.open_paths([Path(p)]))
            it = QListWidgetItem(icon("mdi6.folder-open" if Path(p).is_dir()
                                      else "mdi6.image-multiple"), p)
            it.setData(Qt.ItemDataRole.UserRole, p)
            self.welcome_recent.addItem(it)
        self.recent_menu.setEnabled(bool(recent))
        self.welcome_recent.setVisible(bool(recent))

    def refresh_icons(self) -> None:
        """Re-colour the icons after a light/dark switch."""
        for a, name in self._icons:
            a.setIcon(icon(name))  # type: ignore[attr-defined]

    # ================= models =================
    def refresh_models(self) -> None:
        """Re-read the model cards: the combo box, the manager, the no-model banner."""
        cards = self.engine.cards()
        usable = [c for c in cards.values() if c.has_weights]
        want = self.model_id or self.settings.value("models/current", "", str)
        if want not in {c.id for c in usable}:
            pref = self.settings.value("models/default", "", str)
            want = pref if pref in {c.id for c in usable} else self.engine.default_id()
        self.model_id = want
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        model: QStandardItemModel = self.model_combo.model()  # type: ignore[assignment]
        for c in cards.values():
            label = c.name + ("" if c.has_weights else " (no weights)")
            self.model_combo.addItem(label, c.id)
            if not c.has_weights:
                model.item(self.model_combo.count() - 1).setEnabled(False)
            if c.id == self.model_id:
                self.model_combo.setCurrentIndex(self.model_combo.count() - 1)
        self.model_combo.blockSignals(False)
        if self.model_id is None:
            msg = ("No model has weights yet, so photos cannot be colourised. "
                   "Import a model (Models…) or train one on your photos (Tools ▸ Train on "
                   "my photos…)." if cards else
                   "No models are installed. Import a model (Models…) or train one on your "
                   "photos (Tools ▸ Train on my photos…).")
            self.banner.show_message(msg, "warning", "Models…", self.open_model_manager)
        elif self.banner.kind == "warning" and "model" in self.banner.label.text():
            self.banner.dismiss()
        card = cards.get(self.model_id) if self.model_id else None
        self.model_label.setText(f"Model: {card.name if card else 'none'}")
        if self._manager is not None:
            self._manager.current = self.model_id
            self._manager.refresh(reread=False)
        self._update_actions()

    def current_card(self):  # noqa: ANN201 - ModelCard | None
        return self.engine.cards().get(self.model_id) if self.model_id else None

    def set_model(self, model_id: str, rerun: bool = True) -> None:
        card = self.engine.cards().get(model_id)
        if card is None or not card.has_weights:
            self.banner.show_message(f"Model '{model_id}' cannot be used: it has no weights.",
                                     "error")
            return
        self.model_id = model_id
        self.settings.setValue("models/current", model_id)
        self.refresh_models()
        if rerun and self.current is not None and self.current.loaded:
            self.colourise()

    def _model_combo_activated(self, index: int) -> None:
        mid = self.model_combo.itemData(index)
        if mid and mid != self.model_id:
            self.set_model(mid)

    def open_model_manager(self) -> ModelManager:
        if self._manager is None:
            self._manager = ModelManager(self.services, self.model_id, self)
            self._manager.modelChosen.connect(self.set_model)
            self._manager.defaultChanged.connect(lambda _: self.refresh_models())
            self._manager.trainRequested.connect(self.open_training_wizard)
        self._manager.current = self.model_id
        self._manager.refresh()
        self._manager.show()
        self._manager.raise_()
        return self._manager

    def open_training_wizard(self) -> QWidget | None:
        """The training wizard (issue 5), if this build has it."""
        try:
            from .wizard import TrainingWizard  # noqa: PLC0415 - optional, imported lazily
        except ImportError as exc:
            QMessageBox.information(self, "Train on my photos",
                                    f"The training wizard is not available in this build "
                                    f"({exc}). Use `colorstudio train` on the command line.")
            return None
        if self._wizard is None or not self._wizard.isVisible():
            self._wizard = TrainingWizard(self, self.services)
            done = getattr(self._wizard, "finished", None)
            if done is not None:
                done.connect(lambda *_: self.services.models_changed())
        self._wizard.show()
        self._wizard.raise_()
        return self._wizard

    # ================= photos =================
    def open_files_dialog(self) -> None:
        exts = " ".join(f"*{e}" for e in READ_FORMATS)
        files, _ = QFileDialog.getOpenFileNames(self, "Open photos",
                                                self.settings.value("paths/last", "", str),
                                                f"Photos ({exts});;All files (*)")
        if files:
            self.settings.setValue("paths/last", str(Path(files[0]).parent))
            self.open_paths([Path(f) for f in files])

    def open_folder_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Open a folder of photos",
                                             self.settings.value("paths/last", "", str))
        if d:
            self.settings.setValue("paths/last", d)
            self.open_paths([Path(d)])

    def open_sample(self) -> None:
        if self.services.sample_path is not None:
            self.open_paths([self.services.sample_path])

    def open_paths(self, paths: list[Path]) -> list[Document]:
        """Add photos (folders are searched) to the filmstrip and show the first new one.

        "Open recent" lists only what opened: a folder once photos were found in it, a file
        once it was read (a file that fails to open is taken off the list)."""
        paths = [Path(p) for p in paths]
        missing = [p for p in paths if not p.exists()]
        for p in missing:
            self._remove_recent(p)
        given: list[tuple[Path, Path]] = []  # (file, what the user opened)
        for p in paths:
            if p.exists():
                given += [(f, p) for f in expand_paths([p])]
        folders = [p for p in paths if p.is_dir() and any(g == p for _, g in given)]
        if folders:
            self._add_recent(folders)
        if not given:
            if missing:
                self.banner.show_message(f"{missing[0].name}: no such file or folder", "error")
            else:
                self.banner.show_message("No photos found there (supported: "
                                         + ", ".join(READ_FORMATS) + ").", "warning")
            return []
        known = {d.path.resolve(): d for d in self.docs}
        new: list[Document] = []
        first: Document | None = None
        for f, opened in given:
            doc = known.get(f.resolve())
            if doc is None:
                doc = Document(f)
                known[f.resolve()] = doc
                self.docs.append(doc)
                self.undo_group.addStack(doc.undo)
                doc.undo.indexChanged.connect(lambda _i, d=doc: self._save_hints(d))
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
            self._jobs[self.engine.submit(lambda ctx, p=doc.path: _thumbnail(p), "thumb",
                                          low_priority=True)] = ("thumb", doc)
        if first is not None:
            self.select_document(first)
        if missing:  # after moving to the new photo, which clears older messages
            self.banner.show_message(f"{missing[0].name}: no such file or folder", "error")
        return new

    def _opened(self, doc: Document, ok: bool) -> None:
        """A photo was read (or failed to): it joins, or leaves, "Open recent"."""
        entry = self._pending_recent.pop(doc, None)
        if ok and entry is not None:
            self._add_recent([Path(entry)])
        elif not ok:
            self._remove_recent(Path(entry) if entry is not None else doc.path)

    def select_document(self, doc: Document) -> None:
        row = self.docs.index(doc)
        if self.filmstrip.currentRow() != row:
            self.filmstrip.setCurrentRow(row)  # -> _filmstrip_changed
            return
        if doc is not self.current:
            self.banner.dismiss_unless(doc)  # an error about another photo is stale now
        self.current = doc
        self.undo_group.setActiveStack(doc.undo)
        self.stack.setCurrentWidget(self.canvas)
        self.setWindowTitle(f"{doc.name} — ColorStudio")
        if not doc.loaded:
            self.canvas.clear()
            self.size_label.setText("loading…")
            if doc.load_job is None:
                doc.load_job = self.engine.submit(lambda ctx, p=doc.path: _prepare(p), "load")
                self._jobs[doc.load_job] = ("load", doc)
        else:
            self._show_document(doc)
        self._update_actions()

    def _filmstrip_changed(self, row: int) -> None:
        if 0 <= row < len(self.docs):
            self.select_document(self.docs[row])

    def _step_photo(self, delta: int) -> None:
        if self.docs:
            row = (self.filmstrip.currentRow() + delta) % len(self.docs)
            self.filmstrip.setCurrentRow(row)

    def close_current(self) -> None:
        doc = self.current
        if doc is None:
            return
        row = self.docs.index(doc)
        self.docs.remove(doc)
        self._pending_recent.pop(doc, None)
        self.undo_group.removeStack(doc.undo)
        self.current = None
        self.filmstrip.blockSignals(True)
        self.filmstrip.takeItem(row)
        self.filmstrip.blockSignals(False)
        if self.docs:
            self.filmstrip.setCurrentRow(-1)
            self.filmstrip.setCurrentRow(min(row, len(self.docs) - 1))
        else:
            self.canvas.clear()
            self.stack.setCurrentWidget(self.welcome)
            self.setWindowTitle("ColorStudio")
            self.size_label.setText("")
        self._update_actions()

    def _doc_loaded(self, doc: Document, prepared: tuple) -> None:
        doc.load_job = None
        doc.error = ""
        image, proxy, before_pyr = prepared
        doc.set_image(image, proxy, before_pyr if not doc.steps else None)
        self._opened(doc, True)
        for w in image.warnings:
            self.statusBar().showMessage(w, 8000)
        try:
            note = doc.read_sidecar()  # hints (original coordinates) and their recipe
            if note:
                self.statusBar().showMessage(note, 6000)
        except ColorStudioError as exc:
            self.banner.show_message(f"{exc} — the hints were not loaded.", "error",
                                     source=doc)
        if doc.steps:
            self._submit_pre(doc)
        assert doc.proxy_l is not None
        self._set_thumb(doc, l_to_grey8(doc.proxy_l))
        if doc is self.current:
            self._show_document(doc)
            if self.model_id is not None:
                self.colourise()

    def _show_document(self, doc: Document) -> None:
        assert doc.image is not None
        self._set_before(doc)
        if doc.result is not None:
            self._set_after_result(doc)
        elif doc.preview_rgb8 is not None:
            self.canvas.set_after(Pyramid(doc.preview_rgb8), doc.preview_rgb8)
        else:
            self.canvas.set_after(None)
        self.canvas.set_hints(doc.hints)
        self.preprocess.set_steps(doc.steps)
        w, h = doc.space_size()
        bits = 16 if doc.image.dtype == np.uint16 else 8
        self.size_label.setText(f"{w} × {h} px · {bits}-bit")
        self._update_hint_count()
        self.documentShown.emit(doc)

    def _set_thumb(self, doc: Document, arr: np.ndarray) -> None:
        if doc in self.docs:
            self.filmstrip.item(self.docs.index(doc)).setIcon(_thumb_icon(arr))
            self.filmstrip.viewport().update()

    def _set_before(self, doc: Document) -> None:
        """The original side: the full-resolution pyramid when the worker has built it,
        the (small) proxy meanwhile."""
        w, h = doc.space_size()
        pyr = doc.before_pyr
        if pyr is None:
            assert doc.processed_proxy is not None
            pyr = Pyramid.of_lightness(doc.processed_proxy)
        self.canvas.set_before(pyr, w, h, doc.geometry())

    def _set_after_result(self, doc: Document) -> None:
        if doc.after_pyr is None:
            doc.after_pyr = Pyramid(doc.result.rgb8)
        self.canvas.set_after(doc.after_pyr, doc.result.rgb8)

    # ================= drag and drop =================
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

    # ================= colourisation =================
    def colourise(self, doc: Document | None = None, latest: bool = False) -> int | None:
        """Colourise the photo at full resolution in the background; -> job id."""
        doc = doc or self.current
        if doc is None or not doc.loaded or self.model_id is None:
            if self.model_id is None:
                self.refresh_models()
            return None
        self._full_timer.stop()
        assert doc.image is not None
        req = self.engine.Request(l_star=doc.image.l_star, model_id=self.model_id,
                                  hints=doc.view_hints(), steps=doc.steps, display=Pyramid)
        jid = self.engine.colorize(req, latest_key="full" if latest else None)
        self._jobs[jid] = ("colorize", doc)
        self._job_keys[jid] = doc.key(self.model_id)
        doc.result_key = None
        self._show_progress(0.0, f"Colourising {doc.name}…")
        self._update_actions()
        return jid

    def _request_preview(self, hints: HintSet) -> int | None:
        doc = self.current
        if (doc is None or not doc.loaded or self.model_id is None
                or doc.processed_proxy is None):
            return None
        card = self.current_card()
        size = min(PREVIEW_SIZE, card.working_size) if card is not None else PREVIEW_SIZE
        req = self.engine.Request(l_star=doc.processed_proxy, model_id=self.model_id,
                                  hints=doc.view_hints(hints), size=size, preprocessed=True,
                                  scale=doc.proxy_scale)
        jid = self.engine.preview(req)
        self._jobs[jid] = ("preview", doc)
        self._latest_preview = jid
        return jid

    def cancel_jobs(self) -> None:
        for jid, (kind, _) in list(self._jobs.items()):
            if kind in ("colorize", "preview", "export"):
                self.engine.cancel(jid)

    def _user_jobs(self) -> list[int]:
        return [j for j, (k, _) in self._jobs.items() if k in ("colorize", "export", "load")]

    def _show_progress(self, frac: float, text: str) -> None:
        self.progress.show()
        self.cancel_button.show()
        self.progress.setValue(int(frac * 1000))
        self.statusBar().showMessage(text)

    def _job_progress(self, jid: int, frac: float, msg: str) -> None:
        job = self._jobs.get(jid)
        if job is not None and job[0] in ("colorize", "export"):
            self.progress.setValue(int(frac * 1000))
            if msg:
                self.statusBar().showMessage(msg)

    def _job_done(self, jid: int, outcome: str) -> tuple[str, Document | None] | None:
        job = self._jobs.pop(jid, None)
        if outcome != "finished":
            self._job_keys.pop(jid, None)
        if not self._user_jobs():
            self.progress.hide()
            self.cancel_button.hide()
        self._update_actions()
        if job is not None:
            self.jobEnded.emit(jid, outcome)
        return job

    def _job_finished(self, jid: int, result: object) -> None:
        job = self._job_done(jid, "finished")
        if job is None:
            return
        kind, doc = job
        if kind == "load" and doc is not None:
            self._doc_loaded(doc, result)
        elif kind == "thumb" and doc is not None and doc in self.docs:
            self._opened(doc, True)
            self._set_thumb(doc, result)  # type: ignore[arg-type]
        elif kind == "pre" and doc is not None:
            if self._latest_pre.get(id(doc)) == jid:
                doc.processed_full, doc.before_pyr = result  # type: ignore[misc]
                if doc is self.current and doc.space_size()[::-1] == doc.processed_full.shape:
                    self._set_before(doc)
        elif kind == "preview" and doc is not None:
            if jid == self._latest_preview and doc is self.current:
                doc.preview_rgb8 = result.rgb8  # type: ignore[attr-defined]
                self.canvas.set_after(Pyramid(doc.preview_rgb8), doc.preview_rgb8)
                self.previewShown.emit(doc)
        elif kind == "colorize" and doc is not None:
            key = self._job_keys.pop(jid, None)
            if key is not None and key[2] != doc.steps:
                return  # made for an older preprocessing recipe; a newer job is coming
            self._colourised(doc, result)
        elif kind == "export":
            self._exported(result)

    def _colourised(self, doc: Document, result) -> None:  # noqa: ANN001
        doc.result = result
        doc.after_pyr = result.display
        doc.preview_rgb8 = None
        doc.result_key = doc.key(result.model_id)
        self.statusBar().showMessage(f"Colourised {doc.name} with {result.model_id}", 5000)
        for m in result.messages:
            self.banner.show_message(m, "info", source=doc)
        self._set_thumb(doc, result.rgb8)
        if doc is self.current:
            if result.l_star.shape == doc.space_size()[::-1]:
                if doc.processed_full is None:  # the sharp "before" comes from the pre job
                    doc.processed_full = result.l_star
                self._set_after_result(doc)
            self.resultShown.emit(doc)

    def _job_failed(self, jid: int, message: str) -> None:
        job = self._job_done(jid, "failed")
        if job is None:
            return
        kind, doc = job
        if kind in ("load", "thumb") and doc is not None:
            doc.error = message
            self._opened(doc, False)
            if doc in self.docs:
                item = self.filmstrip.item(self.docs.index(doc))
                item.setIcon(icon("mdi6.image-broken-variant"))
                item.setToolTip(f"{doc.path}\n{message}")
        if kind == "load" and doc is not None:
            doc.load_job = None
            if doc is self.current:
                self.size_label.setText("")
        if kind == "thumb" or (kind == "load" and doc is not self.current):
            return  # said when the user moves to that photo (it is read again then)
        self.banner.show_message(message, "error", source=doc)
        self.statusBar().clearMessage()

    def _job_cancelled(self, jid: int) -> None:
        job = self._job_done(jid, "cancelled")
        if job is not None and job[0] in ("colorize", "export"):
            self.statusBar().showMessage("Cancelled.", 4000)
        if job is not None and job[0] == "load" and job[1] is not None:
            job[1].load_job = None

    # ================= hints =================
    def _apply_hints(self, doc: Document, hints: HintSet) -> None:
        """Called by the undo stack (redo/undo): set the hints and refresh what depends."""
        doc.hints = hints
        if doc is self.current:
            self.canvas.set_hints(hints)
            self._update_hint_count()
            self._hints_changed_preview(hints)

    def _hints_changed_preview(self, hints: HintSet) -> None:
        card = self.current_card()
        if card is None or not card.hints:
            return
        if self.a_live.isChecked():
            self._request_preview(hints)
        self._full_timer.start()

    def _hints_edited(self, hints: HintSet, text: str) -> None:
        doc = self.current
        if doc is None or hints == doc.hints:
            return
        self._remember_colour(self.canvas.colour)
        doc.undo.push(HintsCommand(doc, doc.hints, hints, text, self._apply_hints))

    def _hints_dragging(self, hints: HintSet) -> None:
        card = self.current_card()
        if self.a_live.isChecked() and card is not None and card.hints:
            self._request_preview(hints)

    def clear_hints(self) -> None:
        doc = self.current
        if doc is not None and doc.hints:
            doc.undo.push(HintsCommand(doc, doc.hints, HintSet(), "Clear hints",
                                       self._apply_hints))

    def _save_hints(self, doc: Document) -> None:
        side = sidecar_path(doc.path)
        try:
            doc.write_sidecar()  # the hints with the recipe, or no sidecar without hints
        except (OSError, ColorStudioError) as exc:
            doc.hints_saved = False
            self.banner.show_message(f"{side.name}: cannot save the hints "
                                     f"({getattr(exc, 'strerror', None) or exc})", "error")

    def _update_hint_count(self) -> None:
        doc = self.current
        n = len(doc.hints) if doc else 0
        card = self.current_card()
        note = "" if card is None or card.hints else " — this model ignores hints"
        self.hint_count.setText(f"{n} hint{'s' if n != 1 else ''}{note}" if n else
                                "No hints" + note)

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

    def _brush_changed(self, v: int) -> None:
        self.canvas.brush_size = float(v)
        self.canvas.update()

    def set_colour(self, rgb: tuple[int, int, int], snap: bool = True) -> None:
        rgb = tuple(int(max(0, min(255, c))) for c in rgb)  # type: ignore[assignment]
        if snap:
            self.picker.set_colour(rgb)
            rgb = self.picker.current_rgb()
        self.canvas.colour = rgb
        r, g, b = rgb
        self.colour_button.setStyleSheet(f"background-color: rgb({r},{g},{b}); "
                                         "border: 1px solid #777;")
        self.canvas.update()

    def _colour_dialog(self) -> None:
        c = QColorDialog.getColor(QColor(*self.canvas.colour), self, "Hint colour")
        if c.isValid():
            self.set_colour((c.red(), c.green(), c.blue()))

    def _remember_colour(self, rgb: tuple[int, int, int]) -> None:
        rgb = tuple(rgb)  # type: ignore[assignment]
        if rgb in self.recent_colours:
            self.recent_colours.remove(rgb)
        self.recent_colours.insert(0, rgb)
        del self.recent_colours[8:]
        self.recent_row.set_colours(self.recent_colours)

    def _hovered(self, x: float, y: float) -> None:
        self._hover = (x, y)
        doc = self.current
        if doc is None or x < 0:
            return
        lum = doc.lightness_at(x, y)
        if lum is not None:
            self.picker.set_lightness(lum)
        self._suggest_timer.start()

    def _update_suggestions(self) -> None:
        x, y = self._hover
        rgb = self.canvas.after_rgb
        doc = self.current
        if rgb is None or doc is None or x < 0 or not doc.loaded:
            return
        w, h = doc.space_size()
        sx, sy = rgb.shape[1] / w, rgb.shape[0] / h
        radius = 0.06 * min(rgb.shape[:2])
        self.suggest_row.set_colours(suggest_colours(rgb, x * sx, y * sy, radius))

    # ================= preprocessing =================
    def _steps_changed(self, steps: tuple[Step, ...]) -> None:
        doc = self.current
        if doc is None or not doc.loaded:
            return
        doc.set_steps(steps)
        if doc.hints:
            self._save_hints(doc)  # the sidecar records the recipe with the hints
        doc.result = None
        doc.after_pyr = None
        doc.preview_rgb8 = None
        self._set_before(doc)
        w, h = doc.space_size()
        assert doc.image is not None
        self.size_label.setText(f"{w} × {h} px · "
                                f"{16 if doc.image.dtype == np.uint16 else 8}-bit")
        if steps:
            self._submit_pre(doc)
        if self.model_id is not None:
            self._request_preview(doc.hints)
            self._full_timer.start()

    def _submit_pre(self, doc: Document) -> None:
        """The full-resolution preprocessed L* and its pyramid, in the background."""
        assert doc.image is not None
        l_full, steps = doc.image.l_star, doc.steps

        def prepare(ctx):  # noqa: ANN001, ANN202 - worker side
            processed = apply_steps(l_full, steps)
            ctx.check()
            return processed, Pyramid.of_lightness(processed)

        jid = self.engine.submit(prepare, "preprocess", latest_key=f"pre-{id(doc)}")
        self._jobs[jid] = ("pre", doc)
        self._latest_pre[id(doc)] = jid

    # ================= export =================
    def export_dialog(self, compare: bool = False) -> None:
        doc = self.current
        if doc is None:
            return
        opts = load_options(self.settings, **({"compare": True} if compare else {}))
        dlg = ExportDialog([doc.path], batch=False, parent=self, options=opts)
        if dlg.exec():
            save_options(self.settings, dlg.options())
            self.export_current(dlg.options())

    def batch_export_dialog(self) -> None:
        if not self.docs:
            return
        dlg = ExportDialog([d.path for d in self.docs], batch=True, parent=self,
                           options=load_options(self.settings))
        if dlg.exec():
            save_options(self.settings, dlg.options())
            self.batch_export(dlg.options())

    def _export_item(self, doc: Document, dst: Path, opts: ExportOptions):  # noqa: ANN202
        compare = compare_path(dst) if opts.compare else None
        # Exports take hints in the original photo's coordinates (as doc.hints and sidecars
        # are) and map them through the steps themselves; None: the engine reads the sidecar.
        hints = doc.hints if doc.loaded else None
        return self.engine.ExportItem(doc.path, dst, self.model_id, hints, doc.steps,
                                      opts.quality, opts.depth, compare, opts.compression)

    def ask_overwrite(self, existing: list[Path]) -> str:
        """Ask before replacing files: -> "replace", "keep" (both: new names) or "cancel"."""
        box = QMessageBox(QMessageBox.Icon.Question, "Replace existing files?", "", parent=self)
        box.setObjectName("overwrite-question")
        names = ", ".join(p.name for p in existing[:3]) + (
            f" and {len(existing) - 3} more" if len(existing) > 3 else "")
        one = len(existing) == 1
        box.setText(f"{names} already exist{'s' if one else ''} in {existing[0].parent}.")
        box.setInformativeText(f"Replace {'it' if one else 'them'}, or keep "
                               f"{'it' if one else 'them'} and save the new export under "
                               "new names?")
        replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep both", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        clicked = box.clickedButton()
        return "replace" if clicked is replace else "keep" if clicked is keep else "cancel"

    def export_current(self, opts: ExportOptions) -> int | None:
        doc = self.current
        if doc is None or self.model_id is None:
            return None
        dst = opts.target or default_output(doc.path, opts.ext)
        if dst.suffix.lower() != opts.ext:
            dst = dst.with_suffix(opts.ext)
        if dst.resolve() == doc.path.resolve():
            self.banner.show_message(f"{dst.name}: that is the original; ColorStudio never "
                                     "overwrites originals. Choose another name.", "error")
            return None
        source = doc.path.resolve()

        def taken(p: Path) -> bool:
            return any(q.exists() or q.resolve() == source
                       for q in (p, *([compare_path(p)] if opts.compare else [])))

        if taken(dst):
            existing = [q for q in (dst, compare_path(dst) if opts.compare else None)
                        if q is not None and q.exists()]
            answer = self.ask_overwrite(existing) if existing else "keep"
            if answer == "cancel":
                self.statusBar().showMessage("Export cancelled: nothing was replaced.", 5000)
                return None
            if answer == "keep" or not existing:
                dst = numbered(dst, taken)
        return self._start_export([self._export_item(doc, dst, opts)])

    def plan_batch(self, opts: ExportOptions, keep_existing: bool = False
                   ) -> tuple[list[tuple[Document, Path]], list[str]]:
        """Every photo's output in `opts.target` (or beside it): no two photos share one
        (a.png and a.jpg), none is a photo of the batch; with `keep_existing`, files on disk
        are not reused either. -> ([(doc, dst)], notes on renamed outputs)."""
        sources = {d.path.resolve() for d in self.docs}
        claimed: set[Path] = set()
        plan: list[tuple[Document, Path]] = []
        notes: list[str] = []

        def outputs(p: Path) -> list[Path]:
            return [p, compare_path(p)] if opts.compare else [p]

        def taken(p: Path) -> bool:
            return any(q.resolve() in claimed or q.resolve() in sources
                       or (keep_existing and q.exists()) for q in outputs(p))

        owner: dict[Path, Document] = {}  # the first photo with that default output name
        for d in self.docs:
            owner.setdefault(default_output(d.path, opts.ext, opts.target).resolve(), d)
        for d in self.docs:
            first = default_output(d.path, opts.ext, opts.target)
            other = owner[first.resolve()]
            dst = free_output(d.path, opts.ext, opts.target, taken,
                              lambda p, d=d: owner.get(p.resolve(), d) is not d)
            if other is not d:
                notes.append(f"{d.name} -> {dst.name} ({first.name} is {other.name}'s)")
            claimed.update(q.resolve() for q in outputs(dst))
            plan.append((d, dst))
        return plan, notes

    def batch_export(self, opts: ExportOptions) -> int | None:
        if not self.docs or self.model_id is None:
            return None
        plan, notes = self.plan_batch(opts)
        existing = [q for _, dst in plan
                    for q in ([dst, compare_path(dst)] if opts.compare else [dst]) if q.exists()]
        if existing:
            answer = self.ask_overwrite(existing)
            if answer == "cancel":
                self.statusBar().showMessage("Export cancelled: nothing was replaced.", 5000)
                return None
            if answer == "keep":
                plan, notes = self.plan_batch(opts, keep_existing=True)
        if notes:
            self.banner.show_message("Some photos would have written the same file, so "
                                     "they get their own names: " + "; ".join(notes[:3])
                                     + (" …" if len(notes) > 3 else ""), "info")
        return self._start_export([self._export_item(d, dst, opts) for d, dst in plan])

    def _start_export(self, items: list) -> int:
        jid = self.engine.export(items)
        self._jobs[jid] = ("export", None)
        self._show_progress(0.0, f"Exporting {len(items)} photo(s)…")
        return jid

    def _exported(self, summary) -> None:  # noqa: ANN001 - engine ExportSummary
        if summary.failed:
            self.banner.show_message(f"{len(summary.failed)} export(s) failed: "
                                     + "; ".join(summary.failed[:3]), "error")
        else:
            where = summary.written[0].parent if summary.written else ""
            self.statusBar().showMessage(f"Exported {len(summary.written)} file(s) to {where}",
                                         8000)
        self.exportDone.emit(summary)

    # ================= misc =================
    def _engine_ready(self, description: str) -> None:
        self.device_label.setText(f"Device: {description}")

    def _update_zoom_label(self) -> None:
        self.zoom_label.setText(f"{self.canvas.zoom * 100:.0f} %" if self.canvas.img_w else "")

    def _update_actions(self) -> None:
        has_doc = self.current is not None and self.current.loaded
        has_model = self.model_id is not None
        self.a_colourise.setEnabled(has_doc and has_model)
        self.a_export.setEnabled(has_doc and has_model)
        self.a_compare.setEnabled(has_doc and has_model)
        self.a_batch.setEnabled(bool(self.docs) and has_model)
        self.a_close.setEnabled(self.current is not None)
        self.a_cancel.setEnabled(bool([j for j, (k, _) in self._jobs.items()
                                       if k in ("colorize", "preview", "export")]))

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

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        trainer = getattr(self.services, "_trainer", None)
        if trainer is not None:  # a training run may be going: ask before stopping it
            try:
                from .wizard import ask_stop_training  # noqa: PLC0415
            except ImportError:
                ask_stop_training = None
            if ask_stop_training is not None and not ask_stop_training(self, trainer):
                event.ignore()
                return
        self.save_settings()
        self._full_timer.stop()
        self._suggest_timer.stop()
        if self._manager is not None:
            self._manager.close()
        if self._wizard is not None:
            self._wizard.close()
        self.services.shutdown()
        event.accept()


def _prepare(path: Path) -> tuple:
    """Worker side: read a photo; its proxy L* and the full-resolution grey pyramid."""
    from ..core.imageio import read_image

    image = read_image(path)
    return image, make_proxy(image.l_star), Pyramid.of_lightness(image.l_star)


def _thumbnail(path: Path) -> np.ndarray:
    """Worker side: a small grey thumbnail (uint8) of a photo for the filmstrip."""
    import cv2

    from ..core.imageio import read_image

    l_star = read_image(path).l_star
    h, w = l_star.shape
    s = min(1.0, 2 * THUMB / max(h, w))
    small = cv2.resize(l_star, (max(1, int(w * s)), max(1, int(h * s))),
                       interpolation=cv2.INTER_AREA)
    return l_to_grey8(small)
