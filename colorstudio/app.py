"""Composition root of the desktop app: builds the engine service and the main window.

The only place where the UI and the engine meet: widgets receive `AppServices` and never
import the engine (or torch) themselves. `run_app(args)` backs `colorstudio gui`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (1440, 900)
SCREENSHOT_TIMEOUT_MS = 300_000


def resources_dir() -> Path:
    """`resources/` beside the package (source checkout) or inside a frozen installation."""
    here = Path(__file__).resolve().parent
    for cand in (here.parent / "resources", here / "resources",
                 Path(getattr(sys, "_MEIPASS", here)) / "resources"):
        if cand.is_dir():
            return cand
    return here.parent / "resources"


def sample_photo() -> Path | None:
    p = resources_dir() / "sample_coffee_grey.png"
    return p if p.is_file() else None


def make_settings(path: Path | None = None):  # noqa: ANN201 - QSettings
    from PySide6.QtCore import QSettings

    if path is not None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings("ColorStudio", "ColorStudio")


def build_window(models_dirs: list[Path] | None = None, settings=None,  # noqa: ANN001
                 device: str = "auto"):  # noqa: ANN201 - (MainWindow, AppServices)
    """The engine service and a main window wired to it (a QApplication must exist)."""
    from .engine.service import EngineService
    from .ui.main_window import MainWindow
    from .ui.services import AppServices

    engine = EngineService(models_dirs, device)

    def make_trainer():  # noqa: ANN202 - TrainingService; imported only when first needed
        from .train.service import TrainingService

        return TrainingService(models_dirs=models_dirs, models_dir=engine.import_dir())

    services = AppServices(engine=engine, settings=settings or make_settings(),
                           models_dirs=models_dirs, sample_path=sample_photo(),
                           trainer_factory=make_trainer)
    return MainWindow(services), services


def run_app(args: argparse.Namespace) -> int:
    screenshot: Path | None = getattr(args, "screenshot", None)
    if screenshot is not None and not (os.environ.get("DISPLAY")
                                       or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from .ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("ColorStudio")
    app.setApplicationName("ColorStudio")
    app.setApplicationDisplayName("ColorStudio")
    apply_theme(app)  # type: ignore[arg-type]

    tmp: tempfile.TemporaryDirectory | None = None
    settings = None
    if screenshot is not None:  # a fresh layout, and the user's settings stay untouched
        tmp = tempfile.TemporaryDirectory(prefix="colorstudio-shot-")
        settings = make_settings(Path(tmp.name) / "settings.ini")
    window, services = build_window(getattr(args, "models_dir", None), settings,
                                    getattr(args, "device", "auto") or "auto")
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(lambda *_: (apply_theme(app),  # type: ignore[arg-type]
                                                     window.refresh_icons()))
    files = [Path(f) for f in getattr(args, "files", []) or []]
    status = {"code": 0}

    if screenshot is not None:
        if not files:
            print("colorstudio: error: --screenshot needs a photo to colourise", file=sys.stderr)
            services.engine.shutdown()
            return 2
        window.resize(*SCREENSHOT_SIZE)

        def shoot(code: int = 0) -> None:
            if status.get("shot"):
                return
            status["shot"] = 1
            status["code"] = status["code"] or code
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(screenshot)):
                print(f"colorstudio: error: cannot write {screenshot}", file=sys.stderr)
                status["code"] = 1
            else:
                print(f"saved {screenshot}")
            window.close()
            app.quit()

        def ended(jid: int, outcome: str) -> None:
            if outcome != "finished":
                QTimer.singleShot(200, lambda: shoot(1))

        window.resultShown.connect(lambda _doc: QTimer.singleShot(300, shoot))
        window.jobEnded.connect(ended)
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: shoot(1))
        if window.model_id is None:
            window.documentShown.connect(lambda _doc: QTimer.singleShot(200, lambda: shoot(1)))
    window.show()
    if files:
        window.open_paths(files)
    app.exec()
    if tmp is not None:
        tmp.cleanup()
    services.shutdown()
    return status["code"]
