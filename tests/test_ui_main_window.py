"""The main window, driven offscreen with real widgets, a real engine thread and tiny models."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication
from uihelpers import make_window, no_thread_leak, write_grey  # noqa: F401 - autouse fixture

from colorstudio.core.hints import load_hints, sidecar_path
from colorstudio.ui.export_dialog import ExportOptions
from colorstudio.ui.imaging import qimage_to_rgb

TIMEOUT = 60000
# QDragEnterEvent's only constructor takes a QPoint, which PySide marks deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")


def _drop(widget, paths: list[Path]) -> bool:  # noqa: ANN001
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return True


def _open(qtbot, win, path: Path):  # noqa: ANN001, ANN202
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.open_paths([path])
    return win.current


def _canvas_rgb(win) -> np.ndarray:  # noqa: ANN001
    return qimage_to_rgb(win.canvas.grab().toImage())


def _img_to_widget(canvas, x: float, y: float) -> QPoint:  # noqa: ANN001
    p = canvas.to_widget(x, y, canvas.panes()[0])
    return QPoint(round(p.x()), round(p.y()))


def test_drop_a_file_colourises_and_changes_the_canvas(qtbot, win, tmp_path: Path) -> None:
    photo = write_grey(tmp_path / "photo.png")
    grabs: list[np.ndarray] = []
    win.documentShown.connect(lambda _d: grabs.append(_canvas_rgb(win)))
    assert win.stack.currentWidget() is win.welcome
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        assert _drop(win, [photo])
    doc = win.current
    assert doc is not None and doc.path == photo and doc.result is not None
    assert win.stack.currentWidget() is win.canvas
    assert win.canvas.after is not None
    before, after = grabs[0], _canvas_rgb(win)
    assert np.abs(before.astype(int) - after.astype(int)).max() > 0, "canvas did not change"
    # The colourised half is colourful; the grey photo was not.
    chroma = lambda a: np.abs(a.astype(int) - a.mean(2, keepdims=True).astype(int)).max()  # noqa: E731
    assert chroma(after) > chroma(before)
    assert "96 × 64" in win.size_label.text()
    assert win.device_label.text().startswith("Device: CPU")
    assert str(photo) in win.recent_files()


def test_drop_a_folder_fills_the_filmstrip(qtbot, win, tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    for i in range(3):
        write_grey(folder / f"scan{i}.png", seed=i)
    write_grey(folder / "sub" / "deep.tif")
    write_grey(folder / "scan0_colorized.png")  # an earlier output: not a photo to work on
    (folder / "notes.txt").write_text("not a photo")
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        assert _drop(win, [folder])
    assert win.filmstrip.count() == 4
    assert [d.name for d in win.docs] == ["scan0.png", "scan1.png", "scan2.png", "deep.tif"]
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.a_next.trigger()
    assert win.current.name == "scan1.png"


def test_zoom_and_pan_keep_both_sides_in_sync(qtbot, win, tmp_path: Path) -> None:
    _open(qtbot, win, write_grey(tmp_path / "photo.png", 300, 200))
    c = win.canvas
    win.a_side.trigger()
    assert c.mode == "side" and len(c.panes()) == 2
    start = c.visible_image_rect(0)
    right = c.panes()[1]
    pos = QPointF(right.center())
    wheel = QWheelEvent(pos, c.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(c, wheel)
    zoomed = c.visible_image_rect(0)
    assert zoomed.width() < start.width() * 0.7
    assert c.visible_image_rect(0) == c.visible_image_rect(1)
    # Pan with the middle button inside the left pane: both panes follow.
    a = QPoint(int(c.panes()[0].center().x()), int(c.panes()[0].center().y()))
    qtbot.mousePress(c, Qt.MouseButton.MiddleButton, pos=a)
    qtbot.mouseMove(c, a + QPoint(40, 25))
    qtbot.mouseRelease(c, Qt.MouseButton.MiddleButton, pos=a + QPoint(40, 25))
    panned = c.visible_image_rect(0)
    assert panned.x() == pytest.approx(zoomed.x() - 40 / c.zoom)
    assert panned.y() == pytest.approx(zoomed.y() - 25 / c.zoom)
    assert c.visible_image_rect(0) == c.visible_image_rect(1)
    # Keyboard zoom, 100 % and fit.
    win.a_100.trigger()
    assert c.zoom == 1.0
    win.a_zoom_in.trigger()
    assert c.zoom == pytest.approx(1.25)
    win.a_fit.trigger()
    assert c.visible_image_rect(0) == c.visible_image_rect(1)
    # Split mode: the divider is draggable.
    win.a_split.trigger()
    x = int(c.divider_x())
    y = c.height() // 2
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    qtbot.mouseMove(c, QPoint(x - 100, y))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=QPoint(x - 100, y))
    assert c.divider_x() == pytest.approx(x - 100, abs=2)
    # Toggle mode: holding backslash shows the original.
    win.a_toggle.trigger()
    c.setFocus()
    qtbot.keyPress(c, Qt.Key.Key_Backslash)
    assert c.showing_original
    qtbot.keyRelease(c, Qt.Key.Key_Backslash)
    assert not c.showing_original


def test_paint_a_stroke_then_undo_and_redo(qtbot, win, tmp_path: Path) -> None:
    photo = write_grey(tmp_path / "photo.png", 200, 140)
    doc = _open(qtbot, win, photo)
    c = win.canvas
    win.tool_actions["brush"].trigger()
    win.set_colour((30, 140, 40))
    a, b = _img_to_widget(c, 30, 40), _img_to_widget(c, 150, 90)
    with qtbot.waitSignal(win.previewShown, timeout=TIMEOUT):
        qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=a)
        qtbot.mouseMove(c, (a + b) / 2)
        qtbot.mouseMove(c, b)
        qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=b)
    assert len(doc.hints.strokes) == 1
    stroke = doc.hints.strokes[0]
    assert stroke.points[0] == pytest.approx((30, 40), abs=1.5)
    assert stroke.points[-1] == pytest.approx((150, 90), abs=1.5)
    assert c.hints == doc.hints
    side = sidecar_path(photo)
    assert load_hints(side) == doc.hints
    assert win.recent_colours[0] == c.colour
    win.a_undo.trigger()
    assert len(doc.hints) == 0 and len(c.hints) == 0 and not side.exists()
    win.a_redo.trigger()
    assert len(doc.hints.strokes) == 1 and load_hints(side) == doc.hints
    # The eraser takes what it brushes, as one undoable step: a click on it splits it
    # (issue 13; tests/test_issue13_hints_gui.py checks where it is cut).
    win.tool_actions["eraser"].trigger()
    m = _img_to_widget(c, 90, 65)
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=m)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=m)
    assert len(doc.hints.strokes) == 2
    assert doc.hints.strokes[0].points[0] == stroke.points[0]
    assert doc.hints.strokes[1].points[-1] == stroke.points[-1]
    win.a_undo.trigger()
    assert doc.hints.strokes == (stroke,)


def test_point_tool_adds_moves_and_removes(qtbot, win, tmp_path: Path) -> None:
    doc = _open(qtbot, win, write_grey(tmp_path / "photo.png", 200, 140))
    c = win.canvas
    win.tool_actions["point"].trigger()
    p = _img_to_widget(c, 50, 50)
    qtbot.mouseClick(c, Qt.MouseButton.LeftButton, pos=p)
    assert len(doc.hints.points) == 1
    assert (doc.hints.points[0].x, doc.hints.points[0].y) == pytest.approx((50, 50), abs=1.5)
    q = _img_to_widget(c, 120, 80)
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseMove(c, q)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=q)
    assert len(doc.hints.points) == 1
    assert (doc.hints.points[0].x, doc.hints.points[0].y) == pytest.approx((120, 80), abs=1.5)
    qtbot.mouseClick(c, Qt.MouseButton.RightButton, pos=q)
    assert len(doc.hints.points) == 0
    assert doc.undo.count() == 3


def test_reopen_a_photo_and_get_its_hints_back(qtbot, tiny_models: Path, tmp_path: Path) -> None:
    photo = write_grey(tmp_path / "photo.png", 200, 140)
    w1, s1 = make_window(qtbot, [tiny_models], tmp_path / "s1.ini")
    try:
        _open(qtbot, w1, photo)
        w1.tool_actions["point"].trigger()
        qtbot.mouseClick(w1.canvas, Qt.MouseButton.LeftButton, pos=_img_to_widget(w1.canvas,
                                                                                  60, 70))
        hints = w1.current.hints
        assert len(hints) == 1
    finally:
        w1.close()
        s1.engine.shutdown()
    w2, s2 = make_window(qtbot, [tiny_models], tmp_path / "s2.ini")
    try:
        doc = _open(qtbot, w2, photo)
        assert doc.hints == hints
        assert w2.canvas.hints == hints
        assert "1 hint" in w2.hint_count.text()
    finally:
        w2.close()
        s2.engine.shutdown()


def test_cancel_a_running_job(qtbot, win, tmp_path: Path) -> None:
    _open(qtbot, win, write_grey(tmp_path / "photo.png"))
    started, release = threading.Event(), threading.Event()

    def hold(ctx):  # noqa: ANN001, ANN202
        started.set()
        release.wait(10)
        ctx.check()

    win.engine.submit(hold, "hold")
    assert started.wait(20)
    jid = win.colourise()
    assert jid is not None and win.a_cancel.isEnabled() and win.cancel_button.isVisible()
    with qtbot.waitSignal(win.jobEnded, timeout=TIMEOUT,
                          check_params_cb=lambda j, outcome: j == jid) as sig:
        qtbot.mouseClick(win.cancel_button, Qt.MouseButton.LeftButton)
    assert sig.args == [jid, "cancelled"]
    release.set()
    assert not win.cancel_button.isVisible()
    assert "Cancelled" in win.statusBar().currentMessage()


def test_switch_model_and_rerun(qtbot, win, tmp_path: Path) -> None:
    doc = _open(qtbot, win, write_grey(tmp_path / "photo.png"))
    assert doc.result.model_id == "tiny_guided_unet"
    first = doc.result.rgb8.copy()
    index = win.model_combo.findData("tiny_mane2021_cnn")
    assert index >= 0
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.model_combo.setCurrentIndex(index)
        win.model_combo.activated.emit(index)
    assert doc.result.model_id == "tiny_mane2021_cnn"
    assert not np.array_equal(first, doc.result.rgb8)
    assert "mane2021" in win.model_label.text()
    assert win.settings.value("models/current") == "tiny_mane2021_cnn"


def test_preprocessing_panel_previews_live_and_resets(qtbot, win, tmp_path: Path) -> None:
    doc = _open(qtbot, win, write_grey(tmp_path / "photo.png", 120, 80))
    panel = win.preprocess
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        panel.quarter.setCurrentIndex(1)
    assert (win.canvas.img_w, win.canvas.img_h) == (80, 120)
    assert doc.result.rgb.shape == (120, 80, 3)
    assert "80 × 120" in win.size_label.text()
    panel.equalise.setCurrentIndex(2)
    assert [s.op for s in doc.steps] == ["rotate90", "clahe"]
    panel.rotate_group.reset_button.click()
    assert [s.op for s in doc.steps] == ["clahe"]
    assert (win.canvas.img_w, win.canvas.img_h) == (120, 80)
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        panel.reset_all_button.click()
    assert doc.steps == ()


def test_export_single_comparison_and_batch(qtbot, win, tmp_path: Path) -> None:
    a = write_grey(tmp_path / "a.png")
    b = write_grey(tmp_path / "b.png", seed=3)
    originals = {p: p.read_bytes() for p in (a, b)}
    win.open_paths([a, b])
    qtbot.waitUntil(lambda: win.current is not None and win.current.result is not None,
                    timeout=TIMEOUT)
    with qtbot.waitSignal(win.exportDone, timeout=TIMEOUT) as sig:
        win.export_current(ExportOptions(".jpg", quality=80, compare=True,
                                         target=tmp_path / "out" / "mine.jpg"))
    summary = sig.args[0]
    assert not summary.failed
    assert (tmp_path / "out" / "mine.jpg").is_file()
    # The comparison goes with its output (issue 13: two outputs never share one).
    assert (tmp_path / "out" / "mine_compare.jpg").is_file()
    assert win.export_current(ExportOptions(".png", target=a)) is None  # the original
    assert "never overwrites originals" in win.banner.label.text()
    with qtbot.waitSignal(win.exportDone, timeout=TIMEOUT) as sig:
        win.batch_export(ExportOptions(".png", depth=16, target=tmp_path / "batch"))
    assert sorted(p.name for p in (tmp_path / "batch").iterdir()) == [
        "a_colorized.png", "b_colorized.png"]
    assert all(p.read_bytes() == data for p, data in originals.items())


def test_no_models_opens_and_explains(qtbot, tmp_path: Path) -> None:
    empty = tmp_path / "no_models"
    empty.mkdir()
    w, s = make_window(qtbot, [empty], tmp_path / "s.ini")
    try:
        assert w.banner.isVisible()
        assert "No models are installed" in w.banner.label.text()
        assert w.model_id is None
        w.open_paths([write_grey(tmp_path / "photo.png")])
        qtbot.waitUntil(lambda: w.current is not None and w.current.loaded, timeout=TIMEOUT)
        assert not w.a_colourise.isEnabled()
        assert w.colourise() is None
    finally:
        w.close()
        s.engine.shutdown()


def test_bad_file_shows_a_banner_not_a_traceback(qtbot, win, tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with qtbot.waitSignal(win.jobEnded, timeout=TIMEOUT):
        win.open_paths([bad])
    assert win.banner.isVisible() and win.banner.kind == "error"
    assert "broken.png" in win.banner.label.text()
    assert "Traceback" not in win.banner.label.text()


def test_settings_remember_layout(qtbot, tiny_models: Path, tmp_path: Path) -> None:
    ini = tmp_path / "s.ini"
    w1, s1 = make_window(qtbot, [tiny_models], ini)
    w1.set_mode("side")
    w1.brush_spin.setValue(33)
    w1.close()
    s1.engine.shutdown()
    w2, s2 = make_window(qtbot, [tiny_models], ini)
    try:
        assert w2.canvas.mode == "side" and w2.a_side.isChecked()
        assert w2.canvas.brush_size == 33
    finally:
        w2.close()
        s2.engine.shutdown()


def test_ui_modules_do_not_import_torch() -> None:
    code = ("import sys; import colorstudio.ui.main_window, colorstudio.ui.model_manager, "
            "colorstudio.ui.canvas, colorstudio.engine.service; "
            "bad = [m for m in ('torch', 'colorstudio.nets', 'colorstudio.engine.batch') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_screenshot_command(tiny_models: Path, tmp_path: Path) -> None:
    photo = write_grey(tmp_path / "photo.png", 300, 200)
    out = tmp_path / "shot.png"
    r = subprocess.run([sys.executable, "-m", "colorstudio", "--models-dir", str(tiny_models),
                        "gui", str(photo), "--screenshot", str(out)],
                       capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1440, 900)
