"""Issue 13 in the desktop app, driven offscreen with real widgets and the tiny models.

Point 2: hints stay on the pixels they were painted on through turn -> straighten -> crop,
are saved with the recipe, come back on reopening, and the CLI puts their colours on the same
objects. Point 10: the split divider stays on a narrow or turned photo and its sides are
labelled; the eraser removes only what it brushes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QRectF, QSizeF, Qt
from test_issue13_hints import _scene
from uihelpers import make_window, no_thread_leak, write_grey  # noqa: F401 - autouse fixture

from colorstudio.cli import main
from colorstudio.core.color import rgb_to_lab
from colorstudio.core.hints import HintPoint, HintSet, rgb_chroma, sidecar_path
from colorstudio.core.preprocess import Geometry, Step, apply_geometry
from colorstudio.ui.canvas import BeforeAfterCanvas
from colorstudio.ui.export_dialog import ExportOptions
from colorstudio.ui.imaging import Pyramid, qimage_to_rgb

TIMEOUT = 60000
GREEN, BLUE = (40, 170, 50), (40, 70, 220)


def _widget(canvas, x: float, y: float, pane: int = 0) -> QPoint:  # noqa: ANN001
    p = canvas.to_widget(x, y, canvas.panes()[pane])
    return QPoint(round(p.x()), round(p.y()))


def _grab(widget) -> np.ndarray:  # noqa: ANN001
    return qimage_to_rgb(widget.grab().toImage())


def _chroma(rgb: np.ndarray) -> np.ndarray:
    a = rgb.astype(int)
    return a.max(-1) - a.min(-1)


def _settled(win) -> bool:  # noqa: ANN001
    d = win.current
    return (d is not None and d.result is not None and d.result_key == d.key(win.model_id)
            and not win._jobs)


def _hue(rgb: tuple[int, int, int]) -> float:
    a, b = rgb_chroma(rgb)
    return math.degrees(math.atan2(b, a))


def _hue_at(rgb8: np.ndarray, x: int, y: int, r: int = 2) -> float:
    lab = rgb_to_lab(rgb8[y - r:y + r + 1, x - r:x + r + 1].reshape(-1, 3) / 255.0)
    return math.degrees(math.atan2(float(lab[:, 2].mean()), float(lab[:, 1].mean())))


def _angle(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


# ----- point 2 -----

def test_canvas_shows_original_hints_in_the_turned_view_and_emits_original_ones(qtbot) -> None:
    c = BeforeAfterCanvas()
    qtbot.addWidget(c)
    c.resize(400, 400)
    c.show()
    qtbot.waitExposed(c)
    steps = [Step.make("rotate90", k=1)]
    geo = Geometry.of(40, 60, steps)  # original 60 x 40 -> view 40 x 60
    view = apply_geometry(np.full((40, 60), 128, np.uint8), steps)
    c.set_before(Pyramid(view), 40, 60, geo)
    c.set_hints(HintSet(points=(HintPoint(10, 5, 2, GREEN),)))
    assert (c.view_hints().points[0].x, c.view_hints().points[0].y) == (5, 50)
    px = _grab(c)[_widget(c, 5, 50).y(), _widget(c, 5, 50).x()].astype(int)
    assert px[1] > px[0] + 60 and px[1] > px[2] + 60  # the green square is drawn there
    edits: list[HintSet] = []
    c.hintsEdited.connect(lambda hs, _text: edits.append(hs))
    c.set_tool("point")
    qtbot.mouseClick(c, Qt.MouseButton.LeftButton, pos=_widget(c, 20, 30))
    new = edits[-1].points[-1]
    assert (new.x, new.y) == pytest.approx(tuple(geo.to_original([[20, 30]])[0]), abs=0.6)
    assert (new.x, new.y) == pytest.approx((30, 20), abs=0.6)
    c.set_hints(edits[-1])
    c.set_tool("brush")
    a, b = _widget(c, 10, 10), _widget(c, 30, 10)
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(c, b)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=b)
    stroke = edits[-1].strokes[-1]
    assert stroke.points[0] == pytest.approx((50, 10), abs=0.6)  # view (10, 10) -> original
    assert stroke.points[-1] == pytest.approx((50, 30), abs=0.6)


def test_round_trip_turn_straighten_crop_save_reopen_cli(qtbot, tiny_models: Path,
                                                         tmp_path: Path) -> None:
    photo = _scene(tmp_path / "photo.png")
    w1, s1 = make_window(qtbot, [tiny_models], tmp_path / "s1.ini")
    try:
        with qtbot.waitSignal(w1.resultShown, timeout=TIMEOUT):
            w1.open_paths([photo])
        doc, c, panel = w1.current, w1.canvas, w1.preprocess
        # Paint green across the disc on the photo as it is.
        w1.tool_actions["brush"].trigger()
        w1.brush_spin.setValue(8)
        w1.set_colour(GREEN, snap=False)
        a, b = _widget(c, 42, 40), _widget(c, 58, 40)
        qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=a)
        qtbot.mouseMove(c, (a + b) / 2)
        qtbot.mouseMove(c, b)
        qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=b)
        assert doc.hints.strokes[0].points[0] == pytest.approx((42, 40), abs=1)
        # Turn, straighten, crop.
        panel.quarter.setCurrentIndex(1)
        panel.angle.setValue(3.0)
        panel.crop["left"].setValue(10)
        panel.crop["bottom"].setValue(8)
        steps = doc.steps
        assert [s.op for s in steps] == ["rotate90", "rotate", "crop"]
        qtbot.waitUntil(lambda: _settled(w1), timeout=TIMEOUT)
        geo = Geometry.of(120, 200, steps)
        assert (c.img_h, c.img_w) == geo.view_shape
        # The stroke is shown where the disc now is, not where it was painted on the screen.
        disc_view = geo.to_view([[50, 40]])[0]
        grab = _grab(c)
        p = _widget(c, *disc_view)
        px = grab[p.y(), p.x()].astype(int)
        assert px[1] > px[0] + 40 and px[1] > px[2] + 40, px
        view_l = apply_geometry(np.asarray(Image.open(photo), np.float32), steps)
        for x, y in c.view_hints().strokes[0].points:
            assert view_l[int(y), int(x)] > 200  # on the (bright) disc in the view
        # Paint blue on the dark square, in the turned, straightened, cropped view.
        square_view = geo.to_view([[150, 85]])[0]
        assert view_l[int(square_view[1]), int(square_view[0])] < 80
        w1.tool_actions["point"].trigger()
        w1.brush_spin.setValue(10)
        w1.set_colour(BLUE, snap=False)
        qtbot.mouseClick(c, Qt.MouseButton.LeftButton, pos=_widget(c, *square_view))
        pt = doc.hints.points[0]
        assert (pt.x, pt.y) == pytest.approx((150, 85), abs=1.5)  # stored on the original
        qtbot.waitUntil(lambda: _settled(w1), timeout=TIMEOUT)
        # The colourised view has the blue on the square and the green on the disc.
        rgb = doc.result.rgb8
        assert _angle(_hue_at(rgb, int(square_view[0]), int(square_view[1])), _hue(BLUE)) < 25
        assert _angle(_hue_at(rgb, int(disc_view[0]), int(disc_view[1])), _hue(GREEN)) < 25
        # An export with the recipe: the colours are on the same objects of the turned,
        # straightened, cropped output.
        target = tmp_path / "exported" / "photo_colorized.png"
        with qtbot.waitSignal(w1.exportDone, timeout=TIMEOUT) as sig:
            w1.export_current(ExportOptions(".png", target=target))
        assert not sig.args[0].failed
        exported = np.asarray(Image.open(target).convert("RGB"))
        assert exported.shape[:2] == geo.view_shape
        assert _angle(_hue_at(exported, int(disc_view[0]), int(disc_view[1])), _hue(GREEN)) < 25
        assert _angle(_hue_at(exported, int(square_view[0]), int(square_view[1])),
                      _hue(BLUE)) < 25
        hints, shown1 = doc.hints, c.view_hints().points[0]
    finally:
        w1.close()
        s1.engine.shutdown()
    # Saved: a sidecar (version 3: no hint spread set), original coordinates, with the recipe.
    saved = json.loads(sidecar_path(photo).read_text())
    assert saved["version"] == 3 and saved["coordinates"] == "original"
    assert saved["image"] == {"width": 200, "height": 120}
    assert [s["op"] for s in saved["preprocessing"]] == ["rotate90", "rotate", "crop"]
    # Reopened: the recipe and the hints come back, shown on the same objects.
    w2, s2 = make_window(qtbot, [tiny_models], tmp_path / "s2.ini")
    try:
        said: list[str] = []
        w2.statusBar().messageChanged.connect(said.append)
        with qtbot.waitSignal(w2.resultShown, timeout=TIMEOUT):
            w2.open_paths([photo])
        doc2 = w2.current
        assert doc2.steps == steps and doc2.hints == hints
        assert w2.preprocess.steps() == steps
        assert (w2.canvas.img_h, w2.canvas.img_w) == geo.view_shape
        shown = w2.canvas.view_hints().points[0]
        assert (shown.x, shown.y) == pytest.approx((shown1.x, shown1.y), abs=1e-6)
        assert (shown.x, shown.y) == pytest.approx(tuple(square_view), abs=1.5)
        assert ("2 hints (painted with rotate90(k=1), rotate(angle=3), crop(left=0.1, top=0, "
                "right=0, bottom=0.08)) restored from photo.hints.json") in said
    finally:
        w2.close()
        s2.engine.shutdown()
    # The command line: the colours land on the same objects of the photo.
    assert main(["--models-dir", str(tiny_models), "colorize", str(photo), "-o",
                 str(tmp_path / "o")]) == 0
    out = np.asarray(Image.open(tmp_path / "o" / "photo_colorized.png").convert("RGB"))
    assert _angle(_hue_at(out, 50, 40), _hue(GREEN)) < 25
    assert _angle(_hue_at(out, 150, 85), _hue(BLUE)) < 25


# ----- point 10 -----

def _dark_photo(path: Path, width: int, height: int) -> Path:
    """A dark, textured grey photo: nothing on it is near white, so labels stand out."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    g = 0.25 + 0.1 * np.sin(xx / 7.0) * np.cos(yy / 5.0)
    Image.fromarray((g * 255).astype(np.uint8), "L").save(path)
    return path


def _photo_rect(c) -> QRectF:  # noqa: ANN001
    """Where the canvas draws the photo (split mode: one pane at the widget's origin)."""
    return QRectF(c.offset, QSizeF(c.img_w * c.zoom, c.img_h * c.zoom))


def _white_in(grab: np.ndarray, left: float, top: float, right: float, bottom: float) -> int:
    part = grab[int(top):int(bottom), int(left):int(right)]
    return int((part.min(-1) >= 235).sum())


def test_split_divider_stays_on_a_turned_narrow_photo_and_sides_are_labelled(
        qtbot, win, tmp_path: Path) -> None:
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.open_paths([_dark_photo(tmp_path / "wide.png", 300, 100)])
    c = win.canvas
    win.a_split.trigger()
    photo = _photo_rect(c)
    # Drag the divider to a quarter of the (wide) photo.
    y = int(photo.center().y())
    x0, x1 = int(c.divider_x()), int(photo.left() + 0.25 * photo.width())
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=QPoint(x0, y))
    qtbot.mouseMove(c, QPoint(x1, y))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=QPoint(x1, y))
    assert c.divider_x() == pytest.approx(x1, abs=2)
    # Turn it: the photo is now narrow in the middle of the canvas.
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.preprocess.quarter.setCurrentIndex(1)
    qtbot.waitUntil(lambda: _settled(win), timeout=TIMEOUT)
    photo = _photo_rect(c)
    assert photo.width() < c.width() / 2
    x = c.divider_x()
    assert photo.left() + 10 < x < photo.right() - 10
    assert x == pytest.approx(photo.left() + 0.25 * photo.width(), abs=2)
    grab = _grab(c)
    mid = slice(int(photo.top() + 40), int(photo.bottom() - 10))
    left = _chroma(grab[mid, int(photo.left()) + 2:int(x) - 3])
    right = _chroma(grab[mid, int(x) + 3:int(photo.right()) - 2])
    assert left.max() <= 6  # the original, grey
    assert np.median(right) >= 3 and right.max() > 10  # the colourised side
    # Both sides carry their label, at the top of the photo.
    top, bottom = photo.top() + 6, photo.top() + 32
    assert _white_in(grab, photo.left(), top, x, bottom) > 10  # "original"
    assert _white_in(grab, x, top, photo.right(), bottom) > 10  # "colourised"
    # Zoomed in and panned past the photo's left edge, the divider stays in sight.
    c.set_zoom(c.zoom * 3)
    c.pan_by(-_photo_rect(c).left() + 300, 0)
    vis = _photo_rect(c).intersected(QRectF(c.rect()))
    assert vis.left() >= 299 and vis.left() < c.divider_x() < vis.right()
    assert c.divider_x() == pytest.approx(vis.left() + 0.25 * vis.width(), abs=2)


def test_eraser_takes_only_what_it_brushes(qtbot, win, tmp_path: Path) -> None:
    photo = write_grey(tmp_path / "photo.png", 200, 140)
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.open_paths([photo])
    doc, c = win.current, win.canvas
    win.brush_spin.setValue(10)
    win.tool_actions["brush"].trigger()
    a, b = _widget(c, 30, 40), _widget(c, 170, 40)
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(c, (a + b) / 2)
    qtbot.mouseMove(c, b)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=b)
    assert len(doc.hints.strokes) == 1
    whole = doc.hints
    # One click on it (off the split divider): two pieces, cut 5 (eraser) + 5 (half the
    # stroke) px either side.
    win.tool_actions["eraser"].trigger()
    m = _widget(c, 80, 40)
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=m)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=m)
    left, right = doc.hints.strokes
    mx = c.to_image(QPointF(m)).x()
    assert left.points[0] == pytest.approx((30, 40), abs=1.5)
    assert left.points[-1][0] == pytest.approx(mx - 10, abs=0.5)
    assert right.points[0][0] == pytest.approx(mx + 10, abs=0.5)
    assert right.points[-1] == pytest.approx((170, 40), abs=1.5)
    assert doc.undo.count() == 2
    # A fast drag across the right piece's end trims it without gaps (one event per 40 px).
    p, q = _widget(c, 150, 20), _widget(c, 150, 60)
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseMove(c, q)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=q)
    strokes = doc.hints.strokes
    assert len(strokes) == 3 and strokes[0] == left
    assert strokes[1].points[-1][0] < 141 and strokes[2].points[0][0] > 159
    win.a_undo.trigger()
    win.a_undo.trigger()
    assert doc.hints == whole


def test_todays_sidecars_open_and_bad_ones_say_why(qtbot, win, tmp_path: Path) -> None:
    """A version-1 sidecar (what ColorStudio wrote before) opens as it always did; one from a
    newer version, or a broken one, gives a one-line banner and the photo still opens."""
    old = write_grey(tmp_path / "old.png", 120, 80)
    sidecar_path(old).write_text(json.dumps(
        {"points": [{"x": 30, "y": 20, "radius": 3, "rgb": list(GREEN)}]}))
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.open_paths([old])
    assert win.current.hints.points == (HintPoint(30, 20, 3, GREEN),)
    assert win.current.steps == () and win.canvas.hints == win.current.hints
    assert not win.banner.isVisible()
    new = write_grey(tmp_path / "new.png", 120, 80)
    sidecar_path(new).write_text(json.dumps({"format": "colorstudio-hints", "version": 7}))
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.open_paths([new])
    text = win.banner.label.text()
    assert win.banner.isVisible() and "new.hints.json" in text
    assert "newer ColorStudio" in text and "hints were not loaded" in text
    assert "Traceback" not in text and "\n" not in text
    assert not win.current.hints and win.current.result is not None
