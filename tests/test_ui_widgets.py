"""Widgets and helpers of the desktop app: pixmap pyramid, gamut picker, suggestions,
preprocessing panel, the welcome view's one-click sample, closing while a job runs."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from uihelpers import make_window

from colorstudio.core.preprocess import Step
from colorstudio.ui.colours import GamutPicker, in_gamut, rgb8_to_lab, snap_ab, suggest_colours
from colorstudio.ui.imaging import Pyramid, l_to_grey8
from colorstudio.ui.preprocess_panel import PreprocessPanel


def test_pyramid_levels_and_choice(qtbot) -> None:
    arr = np.zeros((3000, 4000, 3), np.uint8)
    pyr = Pyramid(arr, min_side=512)
    widths = [pm.width() for pm in pyr.levels]
    assert widths == [4000, 2000, 1000, 500]
    # Zoomed out to 20 %: the 1/4 level (25 %) is drawn, not the 12 MP original.
    pm, f = pyr.level_for(0.2, 4000)
    assert pm.width() == 1000 and f == 0.25
    assert pyr.level_for(2.0, 4000)[0].width() == 4000
    # A preview proxy drawn over a larger image space.
    small = Pyramid(np.zeros((200, 300), np.uint8))
    assert small.level_for(0.05, 3000)[1] == pytest.approx(0.1)


def test_grey_lut_matches_lightness() -> None:
    g = l_to_grey8(np.array([[0.0, 50.0, 100.0]], np.float32))
    assert g[0, 0] == 0 and g[0, 2] == 255 and 115 <= g[0, 1] <= 120


def test_snap_keeps_hue_and_lands_in_gamut() -> None:
    a, b = snap_ab(90.0, 80.0, -80.0)  # a saturated violet cannot be that light
    assert in_gamut(90.0, np.array([a]), np.array([b]))[0]
    assert np.arctan2(b, a) == pytest.approx(np.arctan2(-80.0, 80.0), abs=1e-6)
    assert np.hypot(a, b) < np.hypot(80, 80)
    assert snap_ab(50.0, 10.0, 10.0) == (10.0, 10.0)


def test_gamut_picker_click_gives_a_colour_at_the_pixels_lightness(qtbot) -> None:
    picker = GamutPicker()
    qtbot.addWidget(picker)
    picker.set_lightness(30.0)
    with qtbot.waitSignal(picker.colourChosen) as sig:
        qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=QPoint(picker.SIZE - 3, 3))
    lab = rgb8_to_lab(tuple(sig.args))
    assert lab[0] == pytest.approx(30.0, abs=1.5)  # the colour exists at this L*
    assert lab[1] > 5 and lab[2] > 5  # towards +a +b (the clicked corner), snapped inside


def test_suggestions_are_dominant_colours_near_the_cursor() -> None:
    img = np.zeros((100, 100, 3), np.uint8)
    img[:, :50] = (200, 40, 40)
    img[:, 50:] = (40, 60, 200)
    img[40:60, 40:60] = (40, 160, 60)
    near_left = suggest_colours(img, 20, 50, 15)
    assert near_left[0] == pytest.approx((200, 40, 40), abs=6)
    middle = suggest_colours(img, 50, 50, 30)
    assert len(middle) >= 3


def test_preprocess_panel_round_trip_and_reset(qtbot) -> None:
    panel = PreprocessPanel()
    qtbot.addWidget(panel)
    steps = (Step.make("rotate90", k=3), Step.make("rotate", angle=1.5),
             Step.make("crop", left=0.1, bottom=0.05), Step.make("denoise", strength=4),
             Step.make("stretch", low=1, high=99), Step.make("clahe", clip=3, tiles=6),
             Step.make("tone", brightness=5, gamma=1.4))
    panel.set_steps(steps)
    assert panel.steps() == steps
    with qtbot.waitSignal(panel.stepsChanged) as sig:
        panel.denoise_group.reset_button.click()
    assert [s.op for s in sig.args[0]] == ["rotate90", "rotate", "crop", "stretch", "clahe",
                                           "tone"]
    with qtbot.waitSignal(panel.stepsChanged) as sig:
        panel.reset_all_button.click()
    assert sig.args[0] == ()


def test_welcome_sample_is_one_click_from_a_colourisation(qtbot, tiny_models: Path,
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from colorstudio.app import sample_photo

    sample = sample_photo()
    assert sample is not None, "resources/sample_coffee_grey.png is missing"
    copy = tmp_path / sample.name  # keep hints sidecars out of resources/
    copy.write_bytes(sample.read_bytes())
    monkeypatch.setattr("colorstudio.app.sample_photo", lambda: copy)
    w, s = make_window(qtbot, [tiny_models], tmp_path / "s.ini")
    try:
        assert w.stack.currentWidget() is w.welcome and w.sample_button.isEnabled()
        with qtbot.waitSignal(w.resultShown, timeout=60000):
            qtbot.mouseClick(w.sample_button, Qt.MouseButton.LeftButton)
        assert w.current.result.rgb.shape == (400, 600, 3)
    finally:
        w.close()
        s.shutdown()


def test_closing_the_window_while_a_job_runs_shuts_down_cleanly(qtbot, tiny_models: Path,
                                                                tmp_path: Path) -> None:
    w, s = make_window(qtbot, [tiny_models], tmp_path / "s.ini")
    started = threading.Event()
    ended: list[str] = []

    def long_job(ctx):  # noqa: ANN001, ANN202
        started.set()
        while not ctx.cancelled():
            threading.Event().wait(0.01)
        ctx.check()

    s.engine.cancelled.connect(lambda jid: ended.append("cancelled"))
    s.engine.submit(long_job, "long")
    assert started.wait(30)
    w.close()  # closeEvent: settings saved, jobs cancelled, worker joined
    assert not s.engine._thread.isRunning()
    qtbot.waitUntil(lambda: ended == ["cancelled"], timeout=5000)


def test_the_leak_guard_sees_every_qthread_started(qtbot, no_thread_leak) -> None:
    """Not only the project's own worker threads: any QThread started during a test."""
    from PySide6.QtCore import QThread

    class Foreign(QThread):  # a thread the project's services know nothing about
        def run(self) -> None:
            self.exec()

    t = Foreign()
    t.start()
    qtbot.waitUntil(t.isRunning, timeout=5000)
    assert no_thread_leak.running() == [t]
    t.quit()
    assert t.wait(5000)
    assert no_thread_leak.running() == []
