"""Issue 13, point 10 (the main window's part): the error banner goes when you move to another
photo; the photo strip has no stale names or black fragments after its thumbnails change;
"Open recent" lists only what opened."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication
from uihelpers import no_thread_leak, write_grey  # noqa: F401 - autouse fixture

from colorstudio.ui.imaging import qimage_to_rgb

TIMEOUT = 60000


def _idle(win) -> bool:  # noqa: ANN001
    return not win._jobs


def _recent_menu(win) -> list[str]:  # noqa: ANN001
    return [a.toolTip() for a in win.recent_menu.actions()]


def test_error_banner_goes_when_moving_to_a_good_photo(qtbot, win, tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    good = write_grey(tmp_path / "good.png")
    with qtbot.waitSignal(win.jobEnded, timeout=TIMEOUT):
        win.open_paths([bad])
    assert win.banner.isVisible() and win.banner.kind == "error"
    assert "broken.png" in win.banner.label.text()
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.open_paths([good])
    assert not win.banner.isVisible(), win.banner.label.text()
    # Back to the broken photo: it is read again and says so again.
    with qtbot.waitSignal(win.jobEnded, timeout=TIMEOUT):
        win.filmstrip.setCurrentRow(0)
    assert win.banner.isVisible() and "broken.png" in win.banner.label.text()
    # The strip marks it, with the reason in its tooltip.
    assert "broken.png" in win.filmstrip.item(0).toolTip().splitlines()[-1]
    with qtbot.waitSignal(win.documentShown, timeout=TIMEOUT):
        win.filmstrip.setCurrentRow(1)
    assert not win.banner.isVisible()


def test_open_recent_lists_only_files_that_opened(qtbot, win, tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    good = write_grey(tmp_path / "good.png")
    folder = tmp_path / "scans"
    write_grey(folder / "s1.png")
    with qtbot.waitSignal(win.jobEnded, timeout=TIMEOUT):
        win.open_paths([bad])
    assert str(bad) not in win.recent_files() and str(bad) not in _recent_menu(win)
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.open_paths([good])
    assert win.recent_files() == [str(good)] and _recent_menu(win) == [str(good)]
    win.open_paths([folder])  # a folder in which photos were found
    assert win.recent_files()[0] == str(folder)
    qtbot.waitUntil(lambda: _idle(win), timeout=TIMEOUT)
    # A file that opened before and is broken now leaves the list when it fails to open.
    win.close_current()
    win.close_current()
    qtbot.waitUntil(lambda: _idle(win), timeout=TIMEOUT)
    good.write_bytes(b"garbage")
    with qtbot.waitSignal(win.jobEnded, timeout=TIMEOUT):
        [a for a in win.recent_menu.actions() if a.toolTip() == str(good)][0].trigger()
    assert str(good) not in win.recent_files() and str(good) not in _recent_menu(win)
    assert win.welcome_recent.count() == len(win.recent_files()) == 1


def test_photo_strip_repaints_without_stale_names_or_fragments(qtbot, win,
                                                               tmp_path: Path) -> None:
    """What is on screen (the window's backing store, as incremental repaints left it)
    equals a fresh paint of the strip, after placeholders became thumbnails and results."""
    folder = tmp_path / "mixed"
    for i in range(4):  # portrait and landscape photos: icons of different shapes
        write_grey(folder / f"photo_{i}_with_a_long_name.png", 150 if i % 2 else 60,
                   60 if i % 2 else 150, seed=i)
    win.open_paths([folder])
    qtbot.waitUntil(lambda: win.current is not None and win.current.result is not None
                    and _idle(win), timeout=TIMEOUT)
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.filmstrip.setCurrentRow(1)  # read and colourised: its icon changes twice more
    with qtbot.waitSignal(win.documentShown, timeout=TIMEOUT):
        win.filmstrip.setCurrentRow(0)
    qtbot.waitUntil(lambda: _idle(win), timeout=TIMEOUT)
    QApplication.processEvents()
    qtbot.wait(50)
    strip = win.filmstrip
    top_left = strip.mapTo(win, QPoint(0, 0))
    shown = QApplication.primaryScreen().grabWindow(
        win.winId(), top_left.x(), top_left.y(), strip.width(), strip.height())
    on_screen = qimage_to_rgb(shown.toImage()).astype(int)
    fresh = qimage_to_rgb(strip.grab().toImage()).astype(int)
    assert on_screen.shape == fresh.shape
    differs = np.abs(on_screen - fresh).max(axis=2) > 40
    assert differs.sum() < 20, f"{differs.sum()} stale pixels in the photo strip"
    # Every thumbnail has the same square size, whatever the photo's shape.
    sizes = {tuple(strip.item(i).icon().availableSizes()[0].toTuple())
             for i in range(strip.count())}
    assert sizes == {(96, 96)}
