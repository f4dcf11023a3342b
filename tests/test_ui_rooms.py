"""The window's rooms after the split (issue 16): data moves once, exports reuse the result on
screen, results of photos off screen are evicted above the memory cap, typed jobs."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image
from uihelpers import write_grey

from colorstudio.core.hints import HintPoint, HintSet
from colorstudio.core.jobs import JobKind, JobState, PreprocessedL, scan_paths
from colorstudio.core.preprocess import Step
from colorstudio.ui.export_dialog import ExportOptions

TIMEOUT = 60000
STEPS = (Step.make("rotate90", k=1),)


def _open(qtbot, win, path: Path):  # noqa: ANN001, ANN202
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.open_paths([path])
    return win.current


def _count_full_res_steps(monkeypatch, shape: tuple[int, int]) -> list[int]:  # noqa: ANN001
    """Count apply_steps calls on full-resolution L* in every module that uses it."""
    import importlib

    from colorstudio.core import preprocess

    real = preprocess.apply_steps
    calls: list[int] = []

    def counting(l_star, steps):  # noqa: ANN001, ANN202
        if tuple(np.shape(l_star)) == shape and steps:
            calls.append(1)
        return real(l_star, steps)

    for name in ("colorstudio.core.jobs", "colorstudio.ui.main_window", "colorstudio.ui.document",
                 "colorstudio.engine.service", "colorstudio.engine.batch"):
        mod = importlib.import_module(name)
        if hasattr(mod, "apply_steps"):
            monkeypatch.setattr(mod, "apply_steps", counting)
    return calls


def test_a_new_recipe_is_applied_to_the_full_photo_once(qtbot, win, tmp_path, monkeypatch):
    photo = write_grey(tmp_path / "photo.png", 96, 64)
    doc = _open(qtbot, win, photo)
    calls = _count_full_res_steps(monkeypatch, (64, 96))
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT,
                          check_params_cb=lambda d: d.result_key[2] == STEPS):
        win.preprocess.stepsChanged.emit(STEPS)
    qtbot.waitUntil(lambda: not win.jobs, timeout=TIMEOUT)  # the preprocessing job too
    assert doc.result.l_star.shape == (96, 64)
    assert len(calls) == 1  # the preprocessing job and the colourisation share it
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):  # back and forth: cached
        win.preprocess.stepsChanged.emit(())
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT,
                          check_params_cb=lambda d: d.result_key[2] == STEPS):
        win.preprocess.stepsChanged.emit(STEPS)
    assert len(calls) == 1


def test_export_reuses_the_result_on_screen(qtbot, win, tmp_path, monkeypatch):
    from colorstudio.engine import batch

    photo = write_grey(tmp_path / "photo.png")
    doc = _open(qtbot, win, photo)
    runs: list[int] = []
    real = batch.colorize_l
    monkeypatch.setattr(batch, "colorize_l", lambda *a, **k: (runs.append(1), real(*a, **k))[1])
    with qtbot.waitSignal(win.exportDone, timeout=TIMEOUT) as sig:
        win.export_current(ExportOptions(".png", target=tmp_path / "out.png"))
    summary = sig.args[0]
    assert not summary.failed and summary.reused == 1 and runs == []
    written = np.asarray(Image.open(tmp_path / "out.png").convert("RGB"))
    assert np.array_equal(written, doc.result.rgb8)  # exactly what is on screen
    # New hints: the result on screen is out of date, the model runs for the export.
    doc.hints = HintSet((HintPoint(10, 10, 3, (250, 20, 20)),))
    with qtbot.waitSignal(win.exportDone, timeout=TIMEOUT) as sig:
        win.export_current(ExportOptions(".png", target=tmp_path / "out2.png"))
    assert sig.args[0].reused == 0 and runs == [1]


def test_results_of_photos_off_screen_are_evicted_and_made_again(qtbot, win, tmp_path):
    a = write_grey(tmp_path / "a.png", seed=1)
    b = write_grey(tmp_path / "b.png", seed=2)
    win.jobs.cap_bytes = 1  # nothing but the photo on screen fits
    doc_a = _open(qtbot, win, a)
    assert doc_a.result is not None
    doc_b = _open(qtbot, win, b)
    assert doc_b.result is not None
    assert doc_a.result is None and doc_a.evicted and win.jobs.evicted == 1
    assert win.jobs.result_bytes() == doc_b.result.nbytes
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT,
                          check_params_cb=lambda d: d is doc_a):
        win.photos.step(-1)  # back to a: colourised again
    assert doc_a.result is not None and doc_b.result is None


def test_jobs_are_typed_and_end_in_one_state(qtbot, win, tmp_path):
    photo = write_grey(tmp_path / "photo.png")
    ended: list[tuple[int, str]] = []
    win.jobEnded.connect(lambda j, s: ended.append((j, s)))
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.open_paths([photo])
        assert [j.kind for j in win.jobs.of_kind(JobKind.LOAD)] == [JobKind.LOAD]
    qtbot.waitUntil(lambda: not win.jobs, timeout=TIMEOUT)
    assert ended and all(s == JobState.FINISHED.value for _, s in ended)
    assert len({j for j, _ in ended}) == len(ended)  # each job ends once


def test_preprocessed_l_computes_once_across_threads():
    l_star = np.linspace(0, 100, 64 * 48, dtype=np.float32).reshape(64, 48)
    src = PreprocessedL(l_star)
    out: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: out.append(src.get(STEPS))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert src.computed == 1 and all(o is out[0] for o in out) and out[0].shape == (48, 64)
    assert src.get(()) is l_star and src.peek(STEPS) is out[0]
    src.get((Step.make("rotate90", k=2),))
    src.get((Step.make("rotate90", k=3),))  # keep=2: the oldest recipe goes
    assert src.peek(STEPS) is None and src.computed == 3


def test_folder_scan_skips_outputs_and_names_what_is_missing(tmp_path):
    write_grey(tmp_path / "f" / "a.png")
    write_grey(tmp_path / "f" / "a_colorized.png")
    write_grey(tmp_path / "f" / "sub" / "b.png")
    (tmp_path / "f" / "notes.txt").write_text("x")
    scan = scan_paths([tmp_path / "f", tmp_path / "nope.png"])
    assert [f.name for f, _ in scan.files] == ["a.png", "b.png"]
    assert scan.folders == [tmp_path / "f"] and scan.missing == [tmp_path / "nope.png"]
