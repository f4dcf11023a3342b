"""Issue 13, points 1 and 4 (and the export dialog of point 10): one export path with
provenance for every GUI and CLI export, comparisons marked as derived and colourised; no
silent overwrite in the GUI; the export dialog remembers its choices and offers TIFF
compression."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from test_archival_metadata import make_original
from uihelpers import no_thread_leak, write_grey  # noqa: F401 - autouse fixture

from colorstudio.cli import main
from colorstudio.core.hints import HintPoint, HintSet
from colorstudio.core.imageio import read_image
from colorstudio.core.metadata import DIGITAL_SOURCE_TYPE, read_file_metadata
from colorstudio.core.preprocess import Step
from colorstudio.engine import batch
from colorstudio.engine.service import EngineService, ExportItem, record_path
from colorstudio.ui.export_dialog import ExportDialog, ExportOptions, load_options

TIMEOUT = 60000
FORMATS = [".png", ".tif", ".jpg", ".webp"]
STEPS = {"plain": (),
         "steps": (Step.make("rotate90", k=1), Step.make("crop", left=0.125),
                   Step.make("clahe"))}


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def info(path: Path, capsys) -> tuple[dict, str]:  # noqa: ANN001
    """What `colorstudio info` says about a file: (its --json document, its text)."""
    assert main(["info", "--json", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert main(["info", str(path)]) == 0
    return doc, capsys.readouterr().out


PRE = ["preprocessing: rotate90(k=1)",
       "preprocessing: crop(left=0.125, top=0, right=0, bottom=0)",
       "preprocessing: clahe(clip=2, tiles=8)"]


def assert_colourised_provenance(path: Path, src: Path, capsys, *, pre: list[str],  # noqa: ANN001
                                 comparison: bool) -> dict:
    doc, text = info(path, capsys)
    p = doc["provenance"]
    assert doc["colorstudio_output"] is True, f"{path.name}: no provenance"
    assert "colourised by ColorStudio" in text and "none recorded" not in text
    assert p["DigitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert p["DerivedFrom"]["filePath"] == src.name
    assert p["DerivedFrom"]["SHA256"] == sha(src) == p["SourceSHA256"]
    assert p["ModelID"] == "tiny_guided_unet" and len(p["WeightsSHA256"]) == 64
    assert [e["action"] for e in p["History"]][-1] == "derived"
    assert "sRGB" in doc["icc"]
    assert doc["exif"]["Exif.Image.Artist"] == "Jane Photographer"  # carried over
    lines = p["Preprocessing"]
    assert [s for s in lines if s.startswith("preprocessing: ")] == pre, lines
    if pre:
        assert any("preprocessed L* kept" in s for s in lines)
    else:
        assert any("original L* kept" in s for s in lines)
    marked = [s for s in lines if "side-by-side comparison" in s]
    assert bool(marked) == comparison, lines
    if comparison:
        assert "derived, colourised" in marked[0]
    return p


@pytest.fixture
def svc(tiny_models: Path):
    s = EngineService([tiny_models], device="cpu")
    yield s
    s.shutdown()


def _export(qtbot, svc: EngineService, items: list[ExportItem]):  # noqa: ANN001, ANN202
    results: dict[int, object] = {}
    svc.finished.connect(lambda j, r: results.__setitem__(j, r))
    svc.failed.connect(lambda j, m: results.__setitem__(j, m))
    jid = svc.export(items)
    qtbot.waitUntil(lambda: jid in results, timeout=TIMEOUT)
    return results[jid]


@pytest.mark.parametrize("ext", FORMATS)
def test_every_export_combination_carries_provenance(qtbot, svc, tmp_path: Path, make_grey,
                                                     capsys, ext: str) -> None:
    """Point 1: format x steps x comparison, each through the GUI's export job."""
    src = tmp_path / f"harbour{ext}"
    make_original(src, make_grey)  # 64 x 48, with EXIF, IPTC and XMP
    h0 = sha(src)
    hints = HintSet((HintPoint(10, 10, 2, (200, 40, 40)),))
    items, expect = [], []
    for name, steps in STEPS.items():
        for comparison in (False, True):
            dst = tmp_path / "out" / f"{name}-{comparison}_colorized{ext}"
            cmp = dst.with_name(f"{name}-{comparison}_compare{ext}") if comparison else None
            items.append(ExportItem(src, dst, "tiny_guided_unet", hints, steps, compare=cmp))
            expect.append((dst, cmp, bool(steps)))
    summary = _export(qtbot, svc, items)
    assert not summary.failed, summary.failed
    assert sha(src) == h0
    for dst, cmp, steps in expect:
        pre = PRE if steps else []
        p = assert_colourised_provenance(dst, src, capsys, pre=pre, comparison=False)
        assert p["HintsCount"] == "1" and p["HintsSource"] == "in-app"
        out = read_image(dst)
        assert out.size == ((42, 64) if steps else (64, 48))  # rotated, 1/8 cropped
        assert record_path(dst).is_file() == steps
        if steps:
            rec = json.loads(record_path(dst).read_text())
            assert [s["op"] for s in rec["preprocessing"]] == ["rotate90", "crop", "clahe"]
        if cmp is not None:
            q = assert_colourised_provenance(cmp, src, capsys, pre=pre, comparison=True)
            assert q["DerivedFrom"] == p["DerivedFrom"]
            w, h = out.size
            assert read_image(cmp).size == (2 * w + 4, h)  # grey | gap | colour


def test_gui_cli_and_comparisons_share_one_export_path(qtbot, svc, tmp_path: Path,
                                                       tiny_models: Path,
                                                       monkeypatch) -> None:
    """Point 1: the service's export (steps, comparison or neither) and the CLI both call
    `Colorizer.colorize_file` once per photo."""
    calls: list[tuple[str, tuple, object]] = []
    real = batch.Colorizer.colorize_file

    def spy(self, src, dst, *args, **kwargs):  # noqa: ANN001, ANN202
        calls.append((Path(dst).name, tuple(kwargs.get("steps", ())), kwargs.get("compare")))
        return real(self, src, dst, *args, **kwargs)

    monkeypatch.setattr(batch.Colorizer, "colorize_file", spy)
    src = write_grey(tmp_path / "photo.png")
    steps = (Step.make("tone", brightness=5.0),)
    summary = _export(qtbot, svc, [
        ExportItem(src, tmp_path / "a_colorized.png", "tiny_guided_unet"),
        ExportItem(src, tmp_path / "b_colorized.png", "tiny_guided_unet", steps=steps),
        ExportItem(src, tmp_path / "c_colorized.png", "tiny_guided_unet",
                   compare=tmp_path / "c_compare.png")])
    assert not summary.failed
    assert calls == [("a_colorized.png", (), None), ("b_colorized.png", steps, None),
                     ("c_colorized.png", (), tmp_path / "c_compare.png")]
    assert main(["--models-dir", str(tiny_models), "colorize", str(src), "-o",
                 str(tmp_path / "cli")]) == 0
    assert [c[0] for c in calls[3:]] == ["photo_colorized.png"]


def test_export_maps_original_coordinate_hints_through_the_steps(qtbot, svc,
                                                                tmp_path: Path) -> None:
    """The one export path takes hints as a sidecar keeps them (original photo's pixels) and
    moves them with the geometric steps: after a quarter turn the red lands where the point
    was painted, not at the same numbers in the turned frame."""
    g = np.full((64, 96), 128, np.uint8)
    g[:, 48:] = 200
    src = tmp_path / "two_halves.png"
    Image.fromarray(g).save(src)
    hints = HintSet((HintPoint(12, 12, 3, (220, 30, 30)),))
    dst = tmp_path / "turned_colorized.png"
    summary = _export(qtbot, svc, [ExportItem(src, dst, "tiny_guided_unet", hints,
                                              (Step.make("rotate90", k=1),))])
    assert not summary.failed
    a = np.asarray(Image.open(dst)).astype(int)
    assert a.shape == (96, 64, 3)
    red = a[..., 0] - a[..., 1]
    assert red[84, 12] > 120  # (12, 12) turned counter-clockwise: (12, 96 - 12)
    assert red[12, 12] < 80  # not where the unmoved numbers would put it


def test_cli_folder_run_skips_comparison_images(tmp_path: Path, tiny_models: Path) -> None:
    """A comparison written beside its photo is a ColorStudio output, not a new input."""
    write_grey(tmp_path / "scans" / "a.png")
    write_grey(tmp_path / "scans" / "a_compare.png")
    jobs = batch.plan_batch([tmp_path / "scans"], tmp_path / "out")
    assert [j.src.name for j in jobs] == ["a.png"]


# --------------------------------------------------------------------------- the window

def _open(qtbot, win, *paths: Path):  # noqa: ANN001, ANN202
    win.open_paths(list(paths))
    qtbot.waitUntil(lambda: win.current is not None and win.current.result is not None
                    and not [j for j, (k, _) in win._jobs.items() if k == "thumb"],
                    timeout=TIMEOUT)
    return win.current


def _answer_next_question(qtbot, button: str) -> list[str]:  # noqa: ANN001
    """Click `button` in the next overwrite question (a real, modal QMessageBox)."""
    seen: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or box.objectName() != "overwrite-question":
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        for b in box.buttons():
            if b.text().replace("&", "") == button:
                b.click()
                return
        raise AssertionError(f"no button {button!r} in {[b.text() for b in box.buttons()]}")

    QTimer.singleShot(0, click)
    return seen


def _wait_export(qtbot, win, start):  # noqa: ANN001, ANN202
    with qtbot.waitSignal(win.exportDone, timeout=TIMEOUT) as sig:
        jid = start()
        assert jid is not None
    assert not sig.args[0].failed, sig.args[0].failed
    return sig.args[0]


def test_gui_export_with_steps_and_comparison_has_provenance(qtbot, win, tmp_path: Path,
                                                             make_grey, capsys) -> None:
    """Point 1 through the window: a rotated photo, exported with its comparison."""
    src = tmp_path / "scan.png"
    make_original(src, make_grey)
    doc = _open(qtbot, win, src)
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        win.preprocess.quarter.setCurrentIndex(1)
    assert [s.op for s in doc.steps] == ["rotate90"]
    dst = tmp_path / "out" / "scan_colorized.tif"
    _wait_export(qtbot, win, lambda: win.export_current(
        ExportOptions(".tif", compare=True, target=dst)))
    for path, comparison in ((dst, False), (tmp_path / "out" / "scan_compare.tif", True)):
        assert_colourised_provenance(path, src, capsys, pre=["preprocessing: rotate90(k=1)"],
                                     comparison=comparison)


def test_export_asks_before_replacing_a_file(qtbot, win, tmp_path: Path) -> None:
    """Point 4: replacing an existing output is asked; "Keep both" picks a free name."""
    _open(qtbot, win, write_grey(tmp_path / "a.png"))
    dst = tmp_path / "out" / "a_colorized.png"
    opts = ExportOptions(".png", compare=True, target=dst)
    _wait_export(qtbot, win, lambda: win.export_current(opts))  # new: no question
    first = {p: p.read_bytes() for p in (dst, tmp_path / "out" / "a_compare.png")}

    seen = _answer_next_question(qtbot, "Cancel")
    assert win.export_current(opts) is None
    assert seen and "a_colorized.png, a_compare.png already exist" in seen[0]
    assert all(p.read_bytes() == data for p, data in first.items())

    _answer_next_question(qtbot, "Keep both")
    summary = _wait_export(qtbot, win, lambda: win.export_current(opts))
    assert [p.name for p in summary.written] == ["a-2_colorized.png", "a-2_compare.png"]
    assert all(p.read_bytes() == data for p, data in first.items())

    _answer_next_question(qtbot, "Replace")
    summary = _wait_export(qtbot, win, lambda: win.export_current(opts))
    assert [p.name for p in summary.written] == ["a_colorized.png", "a_compare.png"]
    old_id = read_file_metadata(tmp_path / "out" / "a-2_colorized.png").provenance
    assert read_file_metadata(dst).provenance["History"] != old_id["History"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a-2_colorized.png", "a-2_compare.png", "a_colorized.png", "a_compare.png"]


def test_batch_export_never_maps_two_photos_to_one_file(qtbot, win, tmp_path: Path) -> None:
    """Point 4: a.png and a.jpg in one batch get two outputs; re-running asks first."""
    a_png = write_grey(tmp_path / "in" / "a.png")
    a_jpg = tmp_path / "in" / "a.jpg"
    Image.open(write_grey(tmp_path / "tmp.png", seed=5)).save(a_jpg, quality=95)
    b = write_grey(tmp_path / "in" / "b.png", seed=2)
    _open(qtbot, win, a_png, a_jpg, b)
    out = tmp_path / "batch"
    opts = ExportOptions(".png", compare=True, target=out)
    _wait_export(qtbot, win, lambda: win.batch_export(opts))
    names = sorted(p.name for p in out.iterdir())
    assert names == ["a_colorized.png", "a_compare.png", "a_jpg_colorized.png",
                     "a_jpg_compare.png", "b_colorized.png", "b_compare.png"]
    for name, src in (("a_colorized.png", a_png), ("a_jpg_colorized.png", a_jpg),
                      ("a_jpg_compare.png", a_jpg), ("b_colorized.png", b)):
        assert read_file_metadata(out / name).provenance["SourceSHA256"] == sha(src), name
    assert "a.jpg -> a_jpg_colorized.png" in win.banner.label.text()
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    _answer_next_question(qtbot, "Cancel")
    assert win.batch_export(opts) is None
    _answer_next_question(qtbot, "Keep both")
    _wait_export(qtbot, win, lambda: win.batch_export(opts))
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name in before} == before
    assert sorted(set(p.name for p in out.iterdir()) - set(before)) == [
        "a-2_colorized.png", "a-2_compare.png", "a_jpg-2_colorized.png",
        "a_jpg-2_compare.png", "b-2_colorized.png", "b-2_compare.png"]


def test_export_dialog_remembers_choices_and_offers_tiff_compression(
        qtbot, win, tmp_path: Path) -> None:
    """Point 10: format, comparison (and depth, quality, compression) survive between
    exports; TIFF compression none | lzw | deflate as in `colorize --compression`."""
    src = write_grey(tmp_path / "photo.png")
    _open(qtbot, win, src)
    dst = tmp_path / "out" / "photo_colorized.tif"
    seen: list[dict] = []

    def fill_and_save() -> None:
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, ExportDialog):
            QTimer.singleShot(20, fill_and_save)
            return
        assert not dlg.compression.isEnabled()  # PNG: no compression choice
        dlg.format.setCurrentText("TIFF")
        assert dlg.compression.isEnabled()
        assert [dlg.compression.itemText(i) for i in range(dlg.compression.count())] == [
            "Deflate (lossless, smallest)", "LZW (lossless)", "None"]
        dlg.compression.setCurrentText("LZW (lossless)")
        dlg.compare.setChecked(True)
        dlg.target.setText(str(dst))
        dlg.buttons.button(dlg.buttons.StandardButton.Save).click()

    QTimer.singleShot(0, fill_and_save)
    with qtbot.waitSignal(win.exportDone, timeout=TIMEOUT):
        win.a_export.trigger()
    with tifffile.TiffFile(dst) as tf:
        assert int(tf.pages.first.compression) == 5  # LZW
    with tifffile.TiffFile(tmp_path / "out" / "photo_compare.tif") as tf:
        assert int(tf.pages.first.compression) == 5

    def look_and_cancel() -> None:
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, ExportDialog):
            QTimer.singleShot(20, look_and_cancel)
            return
        seen.append({"format": dlg.format.currentText(), "compare": dlg.compare.isChecked(),
                     "compression": dlg.compression.currentText(),
                     "target": Path(dlg.target.text()).suffix})
        dlg.reject()

    QTimer.singleShot(0, look_and_cancel)
    win.a_export.trigger()
    assert seen == [{"format": "TIFF", "compare": True, "compression": "LZW (lossless)",
                     "target": ".tif"}]
    # Remembered in the settings file: a new session (or the batch dialog) starts from them.
    win.settings.sync()
    assert win.settings.value("export/format") == ".tif"
    assert win.settings.value("export/compression") == "lzw"
    batch_dlg = ExportDialog([src], batch=True, parent=win, options=load_options(win.settings))
    assert (batch_dlg.format.currentText(), batch_dlg.compare.isChecked()) == ("TIFF", True)
    batch_dlg.deleteLater()
    assert np.asarray(Image.open(src)).ndim == 2  # the original was never touched
