"""The Hints dock's guidance, driven offscreen with real widgets and the tiny models: colour
strength, the uncertainty overlay, "Suggest a spot", the model's own swatch suggestions and
the reference photo (dropped through the window, as a real drag would arrive)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QWidget
from uihelpers import no_thread_leak, write_grey  # noqa: F401 - autouse fixture

from colorstudio.core.errors import ColorStudioError
from colorstudio.core.hints import load_sidecar, sidecar_path
from colorstudio.core.reference import read_reference
from colorstudio.core.uncertainty import heat_rgba, suggest_spot, uncertainty_map
from colorstudio.ui.canvas_hints import MARKER_RADIUS
from colorstudio.ui.colours import suggest_colours
from colorstudio.ui.export_dialog import ExportOptions
from colorstudio.ui.guidance import SPOT_FOUND, SPOT_NONE
from colorstudio.ui.hints_controller import MODEL_TIP, RESULT_TIP
from colorstudio.ui.imaging import qimage_to_rgb

TIMEOUT = 60000
# QDragEnterEvent's only constructor takes a QPoint, which PySide marks deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")


def _open(qtbot, win, path: Path):  # noqa: ANN001, ANN202
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.open_paths([path])
    return win.current


def _settled(win) -> bool:  # noqa: ANN001
    d = win.current
    return (d is not None and d.result is not None and d.result_key == d.key(win.model_id)
            and not win._jobs)


def _grab(widget: QWidget) -> np.ndarray:
    return qimage_to_rgb(widget.grab().toImage()).astype(int)


def _at(canvas, x: float, y: float) -> QPoint:  # noqa: ANN001
    p = canvas.to_widget(x, y, canvas.panes()[0])
    return QPoint(round(p.x()), round(p.y()))


def _rgba(img: QImage) -> np.ndarray:
    """An overlay's pixels as uint8 (H, W, 4) RGBA."""
    img = img.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    rows = np.frombuffer(img.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
    return rows[:, : 4 * w].reshape(h, w, 4)


def _unc(res) -> np.ndarray:  # noqa: ANN001
    h, w = res.rgb8.shape[:2]
    return uncertainty_map(res.distribution, h, w, covered=res.influence)


def _drop_on(win, target: QWidget, paths: list[Path]) -> bool:  # noqa: ANN001
    """Drag `paths` onto the middle of `target` through the window, as a real drag arrives
    (Qt picks the widget under the point that accepts drops) -> whether it was taken."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = target.mapTo(win, target.rect().center())
    handle = win.windowHandle()
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(handle, enter)
    if not enter.isAccepted():
        QApplication.sendEvent(handle, QDragLeaveEvent())
        return False
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(handle, drop)
    return drop.isAccepted()


# ----- the uncertainty overlay -----

def test_uncertainty_overlay_toggles_over_the_result_and_needs_a_distribution(
        qtbot, win, tmp_path: Path) -> None:
    doc = _open(qtbot, win, write_grey(tmp_path / "photo.png"))
    g, c = win.hints.guidance, win.canvas
    res = doc.result
    assert res.distribution is not None and g.show_uncertainty.isEnabled()
    off = _grab(c)
    qtbot.mouseClick(g.show_uncertainty, Qt.MouseButton.LeftButton)
    assert g.show_uncertainty.isChecked() and c.overlay is not None
    assert np.array_equal(_rgba(c.overlay), heat_rgba(_unc(res)))
    on = _grab(c)
    # Over the colourised side (right of the divider) only; the original is untouched.
    top, bottom = int(c.offset.y()) + 30, int(c.offset.y() + c.img_h * c.zoom) - 4
    x = int(c.divider_x())
    right = slice(x + 4, int(c.offset.x() + c.img_w * c.zoom) - 4)
    left = slice(int(c.offset.x()) + 4, x - 4)
    assert np.abs(on[top:bottom, right] - off[top:bottom, right]).mean() > 20
    assert np.array_equal(on[top:bottom, left], off[top:bottom, left])
    qtbot.mouseClick(g.show_uncertainty, Qt.MouseButton.LeftButton)
    assert c.overlay is None and np.array_equal(_grab(c), off)
    # A model without an ab-distribution head: disabled, saying why; no overlay even if on.
    qtbot.mouseClick(g.show_uncertainty, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.set_model("tiny_mane2021_cnn")
    assert doc.result.distribution is None and doc.result.model_id == "tiny_mane2021_cnn"
    assert not g.show_uncertainty.isEnabled() and not g.suggest.isEnabled()
    assert "cannot say where it is unsure" in g.show_uncertainty.toolTip()
    assert c.overlay is None
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.set_model("tiny_guided_unet")
    assert g.show_uncertainty.isEnabled() and c.overlay is not None  # recomputed


# ----- suggest a spot -----

def test_suggest_a_spot_rings_the_least_sure_place_until_the_next_hint(
        qtbot, win, tmp_path: Path) -> None:
    doc = _open(qtbot, win, write_grey(tmp_path / "photo.png"))
    g, c = win.hints.guidance, win.canvas
    unc = _unc(doc.result)
    spot = suggest_spot(unc)
    assert spot is not None
    before = _grab(c)
    qtbot.mouseClick(g.suggest, Qt.MouseButton.LeftButton)
    w, h = doc.space_size()
    mx, my = c.marker
    assert (mx, my) == pytest.approx((spot[0] * w / unc.shape[1], spot[1] * h / unc.shape[0]))
    assert 0 <= mx < c.img_w and 0 <= my < c.img_h
    assert win.statusBar().currentMessage() == SPOT_FOUND
    ring = _at(c, mx, my) + QPoint(round(MARKER_RADIUS), 0)
    px = _grab(c)[ring.y(), ring.x()]
    assert px[1] > 180 and px[2] > 180 and px[0] < 90, px  # the cyan ring is drawn there
    assert np.abs(px - before[ring.y(), ring.x()]).max() > 60
    # A hint on the spot takes the marker away; the next suggestion is elsewhere, where the
    # model is still unsure (the hint's reach stops at the bright disc's edge).
    win.tool_actions["point"].trigger()
    qtbot.mouseClick(c, Qt.MouseButton.LeftButton, pos=_at(c, mx, my))
    assert doc.hints and c.marker is None
    qtbot.waitUntil(lambda: _settled(win), timeout=TIMEOUT)
    qtbot.mouseClick(g.suggest, Qt.MouseButton.LeftButton)
    unc = _unc(doc.result)
    assert c.marker is not None and np.hypot(c.marker[0] - mx, c.marker[1] - my) > 5
    assert unc[int(c.marker[1]), int(c.marker[0])] > 0.5 > unc[int(my), int(mx)]
    # A smooth photo with a hint: the hint decides it all and the model is sure everywhere.
    smooth = tmp_path / "smooth.png"
    Image.fromarray(np.tile(np.linspace(50, 200, 96), (64, 1)).astype(np.uint8)).save(smooth)
    doc = _open(qtbot, win, smooth)
    qtbot.mouseClick(c, Qt.MouseButton.LeftButton, pos=_at(c, 20, 20))
    qtbot.waitUntil(lambda: _settled(win), timeout=TIMEOUT)
    assert doc.hints and suggest_spot(_unc(doc.result)) is None
    qtbot.mouseClick(g.suggest, Qt.MouseButton.LeftButton)
    assert c.marker is None and win.statusBar().currentMessage() == SPOT_NONE


# ----- the model's own suggestions -----

def test_suggested_swatches_are_the_models_modes_and_set_the_hint_colour(
        qtbot, win, tmp_path: Path) -> None:
    doc = _open(qtbot, win, write_grey(tmp_path / "photo.png"))
    c, hc = win.canvas, win.hints
    row = hc.suggest_row
    pos = _at(c, 30.3, 20.6)
    qtbot.mouseMove(c, pos)
    qtbot.waitUntil(lambda: bool(row.colours), timeout=TIMEOUT)
    ip = c.to_image(QPointF(pos))
    x, y = ip.x(), ip.y()
    w, h = doc.space_size()
    modes = doc.result.distribution.modes(x / w, y / h, doc.lightness_at(x, y))
    assert modes and row.colours == modes[:len(row.buttons)]
    assert row.toolTip() == MODEL_TIP
    rgb = doc.result.rgb8
    dominant = suggest_colours(rgb, x * rgb.shape[1] / w, y * rgb.shape[0] / h,
                               0.06 * min(rgb.shape[:2]))
    assert row.colours != dominant
    assert c.colour != modes[0]
    qtbot.mouseClick(row.buttons[0], Qt.MouseButton.LeftButton)
    assert c.colour == modes[0]
    # Without a distribution: the result's own colours, as before.
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.set_model("tiny_mane2021_cnn")
    pos = _at(c, 60.2, 30.4)
    qtbot.mouseMove(c, pos)
    qtbot.waitUntil(lambda: row.toolTip() == RESULT_TIP, timeout=TIMEOUT)
    ip = c.to_image(QPointF(pos))
    rgb = doc.result.rgb8
    assert row.colours == suggest_colours(rgb, ip.x() * rgb.shape[1] / w,
                                          ip.y() * rgb.shape[0] / h,
                                          0.06 * min(rgb.shape[:2]))[:len(row.buttons)]


# ----- colour strength -----

def test_strength_slider_reaches_requests_exports_the_sidecar_and_comes_back(
        qtbot, win, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = write_grey(tmp_path / "photo.png")
    other = write_grey(tmp_path / "other.png", seed=3)
    doc = _open(qtbot, win, photo)
    sent: list[tuple[str, float]] = []
    colorize, preview = win.engine.colorize, win.engine.preview

    def spy_full(req, **kw):  # noqa: ANN001, ANN003, ANN202
        sent.append(("full", req.strength))
        return colorize(req, **kw)

    def spy_preview(req, **kw):  # noqa: ANN001, ANN003, ANN202
        sent.append(("preview", req.strength))
        return preview(req, **kw)

    monkeypatch.setattr(win.engine, "colorize", spy_full)
    monkeypatch.setattr(win.engine, "preview", spy_preview)
    s = win.hints.guidance.strength
    assert s.value() == 50 and doc.strength == 0.5 and "Vivid" in s.toolTip()
    s.slider.setFocus()
    qtbot.keyClick(s.slider, Qt.Key.Key_PageUp)
    qtbot.keyClick(s.slider, Qt.Key.Key_PageUp)
    assert s.value() == 70
    qtbot.waitUntil(lambda: ("full", 0.7) in sent, timeout=TIMEOUT)
    assert ("preview", 0.7) in sent and doc.strength == 0.7
    assert sent.count(("preview", 0.7)) == 1  # one rerun once the keys settle, not per step
    qtbot.waitUntil(lambda: _settled(win), timeout=TIMEOUT)
    assert doc.result.strength == 0.7 and doc.key(win.model_id)[3] == 0.7
    assert load_sidecar(sidecar_path(photo)).strength == 0.7
    item = win.exports.item(doc, tmp_path / "out.png", ExportOptions(".png"))
    assert item.strength == 0.7 and item.result is doc.result  # reused: the keys match
    # Another photo shows its own strength; back again, this one's.
    _open(qtbot, win, other)
    assert s.value() == 50
    win.select_document(doc)
    assert s.value() == 70
    # Reopened: restored from the sidecar.
    win.close_current()
    assert win.current.path == other and s.value() == 50
    win.close_current()
    assert not win.docs
    doc2 = _open(qtbot, win, photo)
    assert doc2 is not doc and doc2.strength == 0.7 and s.value() == 70
    qtbot.waitUntil(lambda: _settled(win), timeout=TIMEOUT)
    assert doc2.result.strength == 0.7


# ----- hint spread -----

def test_spread_slider_narrows_the_hints_reach_is_undone_like_a_hint_and_saved(
        qtbot, win, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = write_grey(tmp_path / "photo.png")
    doc = _open(qtbot, win, photo)
    c, s = win.canvas, win.hints.guidance.spread
    win.tool_actions["point"].trigger()
    qtbot.mouseClick(c, Qt.MouseButton.LeftButton, pos=_at(c, 30, 30))
    qtbot.waitUntil(lambda: _settled(win), timeout=TIMEOUT)
    wide = float(doc.result.influence.mean())
    sent: list[float] = []
    colorize = win.engine.colorize

    def spy_full(req, **kw):  # noqa: ANN001, ANN003, ANN202
        sent.append(req.hints.spread)
        return colorize(req, **kw)

    monkeypatch.setattr(win.engine, "colorize", spy_full)
    assert s.value() == 50 and doc.hints.spread == 0.5 and "Local" in s.toolTip()
    s.slider.setFocus()
    for _ in range(5):
        qtbot.keyClick(s.slider, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: 0.0 in sent, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: _settled(win), timeout=TIMEOUT)
    assert doc.hints.spread == 0.0 and len(doc.hints) == 1
    assert float(doc.result.influence.mean()) < 0.5 * wide  # the hint reaches less far
    assert load_sidecar(sidecar_path(photo)).hints.spread == 0.0
    assert doc.undo.undoText() == "Change hint spread"
    doc.undo.undo()
    assert doc.hints.spread == 0.5 and s.value() == 50 and len(doc.hints) == 1
    doc.undo.redo()
    assert s.value() == 0
    win.hints.clear()  # the hints go; how far new ones reach stays
    assert not doc.hints and doc.hints.spread == 0.0 and s.value() == 0


def test_show_reach_tints_where_the_hints_act_and_follows_the_spread(
        qtbot, win, tmp_path: Path) -> None:
    """A low-contrast photo (two bands 5 L* apart) and one hint in the left band: "Show
    reach" tints the right band too by default, and only the left once the spread is Local;
    it shares the overlay with the uncertainty, one at a time."""
    rng = np.random.default_rng(0)
    grey = np.concatenate([np.full((64, 48), 105.0), np.full((64, 48), 118.0)], 1)
    photo = tmp_path / "road.png"
    Image.fromarray(np.clip(grey + rng.normal(0, 1, grey.shape), 0, 255).astype(np.uint8),
                    "L").save(photo)
    doc = _open(qtbot, win, photo)
    g, c = win.hints.guidance, win.canvas
    reach, unc = g.show_reach, g.show_uncertainty
    assert not reach.isEnabled() and "Add a hint" in reach.toolTip()
    win.tool_actions["point"].trigger()
    qtbot.mouseClick(c, Qt.MouseButton.LeftButton, pos=_at(c, 12, 32))
    qtbot.waitUntil(lambda: _settled(win), timeout=TIMEOUT)
    assert reach.isEnabled() and "Hint spread" in reach.toolTip() and c.overlay is None
    qtbot.mouseClick(reach, Qt.MouseButton.LeftButton)
    alpha = _rgba(c.overlay)[..., 3]
    w = alpha.shape[1]
    assert alpha[:, : w // 4].mean() > 100 and alpha[:, 3 * w // 4:].mean() > 60
    qtbot.mouseClick(unc, Qt.MouseButton.LeftButton)  # one overlay at a time
    assert unc.isChecked() and not reach.isChecked()
    assert c.overlay is not None and np.array_equal(
        _rgba(c.overlay)[..., 3], heat_rgba(g.uncertainty())[..., 3])
    qtbot.mouseClick(reach, Qt.MouseButton.LeftButton)
    assert reach.isChecked() and not unc.isChecked()
    s = g.spread
    s.slider.setFocus()
    for _ in range(5):
        qtbot.keyClick(s.slider, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: doc.hints.spread == 0.0 and _settled(win), timeout=TIMEOUT)
    alpha = _rgba(c.overlay)[..., 3]
    assert alpha[:, : w // 8].max() > 100 and alpha[:, 3 * w // 4:].max() < 10
    qtbot.mouseClick(reach, Qt.MouseButton.LeftButton)
    assert c.overlay is None


# ----- reference photo -----

def _blocks(height: int = 64, width: int = 96) -> np.ndarray:
    """A colour scene (red, green, blue bands with a texture) as uint8 (H, W, 3)."""
    img = np.zeros((height, width, 3), np.float32)
    third = width // 3
    img[:, :third], img[:, third:2 * third], img[:, 2 * third:] = (
        (0.8, 0.2, 0.2), (0.2, 0.7, 0.3), (0.2, 0.3, 0.8))
    yy, xx = np.mgrid[0:height, 0:width]
    img *= (0.6 + 0.4 * np.sin(xx / 3.0) * np.cos(yy / 4.0))[..., None]
    return (img * 255 + 0.5).astype(np.uint8)


def test_reference_dropped_on_the_panel_guides_the_result_and_is_saved(
        qtbot, win, tmp_path: Path) -> None:
    ref = tmp_path / "ref.png"
    Image.fromarray(_blocks()).save(ref)
    photo = tmp_path / "photo.png"
    Image.open(ref).convert("L").save(photo)  # the same scene, in grey
    doc = _open(qtbot, win, photo)
    plain = doc.result.rgb8
    zone = win.hints.guidance.reference
    win.hints.widget.ensureWidgetVisible(zone)
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT,
                          check_params_cb=lambda d: d.result.reference == ref):
        assert _drop_on(win, zone, [ref])
    assert doc.reference == ref and len(win.docs) == 1  # not opened as a photo
    assert "ref.png" in zone.label.text() and not zone.thumb.pixmap().isNull()
    qtbot.waitUntil(lambda: _settled(win), timeout=TIMEOUT)
    assert doc.result.reference == ref
    assert np.abs(doc.result.rgb8.astype(int) - plain.astype(int)).max() > 10
    side = load_sidecar(sidecar_path(photo))
    assert side.reference == "ref.png" and side.reference_path(photo) == ref
    saved = sidecar_path(photo).read_bytes()
    # An unreadable file: the banner says why, nothing changes.
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(ColorStudioError) as err:
        read_reference(bad)
    assert _drop_on(win, zone, [bad])
    assert win.banner.isVisible() and win.banner.kind == "error"
    assert win.banner.label.text() == str(err.value)
    assert doc.reference == ref and sidecar_path(photo).read_bytes() == saved
    assert not win._jobs
    # Several files, or a folder: refused with a message.
    assert _drop_on(win, zone, [ref, photo])
    assert "not several" in win.banner.label.text()
    assert _drop_on(win, zone, [tmp_path])
    assert "not a file" in win.banner.label.text()
    assert doc.reference == ref and len(win.docs) == 1
    # A photo dropped on the canvas still opens as a photo.
    with qtbot.waitSignal(win.documentShown, timeout=TIMEOUT):
        assert _drop_on(win, win.canvas, [write_grey(tmp_path / "more.png")])
    assert len(win.docs) == 2
    # Reopened: the reference comes back from the sidecar; "Remove" drops it.
    win.close_current()
    win.close_current()
    doc2 = _open(qtbot, win, photo)
    assert doc2.reference == ref and "ref.png" in zone.label.text()
    qtbot.mouseClick(zone.remove, Qt.MouseButton.LeftButton)
    assert doc2.reference is None and zone.label.text().startswith("Drop a colour photo")
    assert not sidecar_path(photo).exists()  # nothing left to save: no hints, no reference
