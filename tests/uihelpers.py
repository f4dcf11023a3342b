"""Helpers for the desktop-app tests (test_ui_*.py, test_service.py): a thread-leak guard,
a main window over tiny models with throw-away settings, and small grey test photos."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


class ThreadWatch:
    """Every QThread started while installed (QThread.start patched, as napari's tests do),
    whoever started it: ours, Qt's or a library's."""

    def __init__(self) -> None:
        self.started: list = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from PySide6.QtCore import QThread

        real_start = QThread.start
        started = self.started

        def start(thread, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            started.append(thread)
            return real_start(thread, *args, **kwargs)

        monkeypatch.setattr(QThread, "start", start)

    def running(self) -> list:
        alive = []
        for t in self.started:
            try:
                if t.isRunning():
                    alive.append(t)
            except RuntimeError:  # the C++ thread object is already deleted: not running
                pass
        return alive


@pytest.fixture(autouse=True)
def no_thread_leak(monkeypatch: pytest.MonkeyPatch):
    """Fail any test that leaves a QThread running (and stop it): every QThread started
    during the test, plus the engine and training services' own."""
    watch = ThreadWatch()
    watch.install(monkeypatch)
    yield watch
    from colorstudio.engine.service import live_threads

    leaked = live_threads()
    try:
        from colorstudio.train.service import live_threads as training_threads
    except ImportError:  # the training service is optional for these tests
        training_threads = list
    leaked += training_threads()
    leaked += [t for t in watch.running() if t not in leaked]
    names = [t.objectName() or type(t).__name__ for t in leaked]
    for t in leaked:
        t.quit()
        t.wait(10000)
    assert not leaked, f"test left {len(leaked)} thread(s) running: {names}"


def write_grey(path: Path, width: int = 96, height: int = 64, seed: int = 0) -> Path:
    """A small 8-bit grey photo: gradients, a bright disc, a dark bar and a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    g = 0.2 + 0.6 * xx / (width - 1)
    g[(xx - width * 0.65) ** 2 + (yy - height * 0.45) ** 2 < (height / 4) ** 2] = 0.92
    g[int(height * 0.7):int(height * 0.8), : width // 2] = 0.1
    g += rng.normal(0, 0.01, g.shape).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(g * 255, 0, 255).astype(np.uint8), "L").save(path)
    return path


def make_window(qtbot, models_dirs: list[Path], settings_path: Path):  # noqa: ANN001, ANN201
    """A shown main window wired to a real engine service over `models_dirs`."""
    from colorstudio.app import build_window, make_settings

    window, services = build_window(models_dirs, make_settings(settings_path), device="cpu")
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    return window, services
