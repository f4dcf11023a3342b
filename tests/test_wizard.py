"""The training wizard, walked page by page with real widgets (pytest-qt), on a generated
folder of small colour photos and a tiny model: scan, options, a short run with the loss curve
and previews updating, pause/resume, cancel (checkpoint, no model), resume, save.

`COLORSTUDIO_SCREENSHOTS=docs/screenshots pytest tests/test_wizard.py` also saves a
screenshot of each page (`wizard_*.png`).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QMessageBox, QRadioButton, QWizard

from test_finetune import make_photo_folder

from colorstudio.core import cards as card_io
from colorstudio.core.cards import load_card

SHOTS = os.environ.get("COLORSTUDIO_SCREENSHOTS")
LONG = 600_000  # ms: an upper bound for a loaded CI machine; the waits end on signals


def shot(widget, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        QApplication.processEvents()
        widget.grab().save(str(Path(SHOTS) / f"wizard_{name}.png"))


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "userdata" / "models"
    monkeypatch.setattr(card_io, "user_models_dir", lambda: d)
    return d


@pytest.fixture
def trainer(qtbot, tiny_models: Path, user_dir: Path):
    from colorstudio.train.service import TrainingService, live_threads

    t = TrainingService(models_dirs=[tiny_models], models_dir=user_dir)
    yield t
    t.shutdown()
    assert live_threads() == []


@pytest.fixture
def wizard(qtbot, trainer, monkeypatch: pytest.MonkeyPatch):
    from colorstudio.ui.wizard import TrainingWizard

    # No modal question may block a test (or its teardown): "Yes" unless a test says otherwise.
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)

    changed: list[int] = []
    services = SimpleNamespace(trainer=trainer, models_changed=lambda: changed.append(1))
    w = TrainingWizard(None, services)
    w.models_changed_calls = changed
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def drop_folder(widget, folder: Path) -> None:
    """A real drag-enter + drop of a folder URL onto `widget`."""
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(folder))])
    pos = widget.rect().center()
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)


def click(qtbot, button) -> None:
    """A mouse click where the button reacts (check boxes and radios: on the indicator)."""
    assert button.isEnabled() and button.isVisible(), button.text()
    pos = button.rect().center()
    if isinstance(button, (QCheckBox, QRadioButton)):
        pos = QPoint(8, button.height() // 2)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=pos)


def test_walk_the_wizard_train_pause_cancel_resume_save(qtbot, wizard, trainer, tmp_path: Path,
                                                        tiny_models: Path, user_dir: Path):
    from colorstudio.engine.device import pick_device
    from colorstudio.engine.models import ModelStore
    from colorstudio.ui.wizard import PAGE_FOLDER, PAGE_LIVE, PAGE_OPTIONS, PAGE_RESULT

    photos = make_photo_folder(tmp_path / "photos")
    nxt = wizard.button(QWizard.WizardButton.NextButton)

    # Page 1: drop the folder; it is scanned in the background.
    page = wizard.folder_page
    assert wizard.currentId() == PAGE_FOLDER and not nxt.isEnabled()
    with qtbot.waitSignal(trainer.scanned, timeout=LONG):
        drop_folder(page.drop, photos)
    assert page.path.text() == str(photos)
    assert "12 usable colour photos" in page.counts.text()
    assert "1 grey (skipped)" in page.counts.text() and "1 unreadable" in page.counts.text()
    assert page.warning.isVisible() and "50" in page.warning.text()  # too few for a big gain
    assert page.thumbs.count() == 12
    assert nxt.isEnabled()
    shot(wizard, "1_photos")
    click(qtbot, nxt)

    # Page 2: options. The default model is preselected; a short run by epochs.
    opts = wizard.options_page
    assert wizard.currentId() == PAGE_OPTIONS
    assert opts.base.currentData() == "tiny_guided_unet"
    assert "(default)" in opts.base.currentText()
    assert not opts.advanced.isVisible()
    click(qtbot, opts.more)
    assert opts.advanced.isVisible()
    click(qtbot, opts.by_epochs)
    assert opts.epochs.isEnabled() and not opts.minutes.isEnabled()
    opts.epochs.setValue(30)  # 10 training photos / batch 4 -> 75 steps
    opts.size.setValue(32)
    opts.batch.setValue(4)
    opts.device.setCurrentIndex(opts.device.findData("cpu"))
    assert not opts.resume.isVisible()
    shot(wizard, "2_options")

    # Page 3: training. Hold the run (pause from the worker thread, at a known step) so the
    # test sees it mid-run; everything else is done with the page's own buttons.
    live = wizard.live_page
    hold = {"at": 5}

    def pause_at(step: int, losses: dict) -> None:  # runs on the training thread
        if hold["at"] is not None and step >= hold["at"]:
            hold["at"] = None
            trainer.pause()

    trainer.losses.connect(pause_at, Qt.ConnectionType.DirectConnection)
    assert nxt.text() == "Start training"
    click(qtbot, nxt)
    assert wizard.currentId() == PAGE_LIVE
    qtbot.waitUntil(lambda: live.pause.text() == "Resume", timeout=LONG)
    qtbot.waitUntil(lambda: live.curve.point_count() > 0 and live.previews.updates > 0,
                    timeout=LONG)
    assert live.previews.before is not None  # the base model's previews
    assert all(lab.pixmap() is not None and not lab.pixmap().isNull()
               for lab in live.previews.cells[0])
    assert "images/s" in live.stats.text() and "ETA" in live.stats.text()
    assert not nxt.isEnabled()
    points, updates = live.curve.point_count(), live.previews.updates
    shot(wizard, "3_training")

    # Resume with the page's button; the run goes on (and is held again at step 10).
    hold["at"] = 10
    click(qtbot, live.pause)
    qtbot.waitUntil(lambda: live.pause.text() == "Resume" and trainer.last_step >= 10,
                    timeout=LONG)
    qtbot.waitUntil(lambda: live.curve.point_count() > points, timeout=LONG)
    assert live.previews.updates > updates  # previews refreshed during training

    # Cancel: the loop stops, keeps a checkpoint and writes no model.
    with qtbot.waitSignal(trainer.cancelled, timeout=LONG):
        click(qtbot, live.cancel)
    assert "Stopped at step" in live.status.text() and live.resume.isVisible()
    assert not nxt.isEnabled()
    assert trainer._job.can_resume()
    assert not user_dir.exists() or not any(user_dir.iterdir())
    shot(wizard, "3_stopped")

    # Resume from the checkpoint and let it finish; the wizard moves to the result page.
    phases: list[str] = []
    trainer.phase.connect(phases.append)
    with qtbot.waitSignal(trainer.finished, timeout=LONG):
        click(qtbot, live.resume)
    assert any("resumed at step" in p for p in phases)
    qtbot.waitUntil(lambda: wizard.currentId() == PAGE_RESULT, timeout=LONG)

    # Page 4: base vs fine-tuned, side-by-side previews, save under a name.
    res = wizard.result_page
    result = trainer.result
    assert result.steps == 75
    assert res.table.item(0, 0).text() == f"{result.before.psnr:.2f}"
    assert res.table.item(0, 1).text() == f"{result.after.psnr:.2f}"
    assert len(res.compare_labels) == 2
    assert res.name.text() == result.name
    res.name.clear()
    qtbot.keyClicks(res.name, "tiny_guided_unet")  # a bundled id: refused inline
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    assert res.error.isVisible() and not finish.isEnabled()
    res.name.clear()
    qtbot.keyClicks(res.name, "Harbour streets")
    assert not res.error.isVisible() and finish.isEnabled()
    shot(wizard, "4_result")
    saved: list = []
    wizard.modelSaved.connect(saved.append)
    click(qtbot, finish)  # saving is synchronous: validatePage writes the model
    assert not res.error.isVisible(), res.error.text()
    assert len(saved) == 1
    card = saved[0]
    assert card.id == "harbour_streets" and not wizard.isVisible()
    assert wizard.models_changed_calls == [1]  # the model manager refreshes at once
    disk = load_card(user_dir / "harbour_streets.toml")
    assert disk.verify() and disk.base == "tiny_guided_unet" and disk.data_count == 12
    model = ModelStore([tiny_models, user_dir]).load("harbour_streets", pick_device("cpu"))
    assert model.card.name == "Harbour streets"
    assert not trainer._job.work_dir.exists()


def test_too_few_photos_warn_and_block(qtbot, wizard, trainer, tmp_path: Path):
    few = make_photo_folder(tmp_path / "few", n=3)
    page = wizard.folder_page
    with qtbot.waitSignal(trainer.scanned, timeout=LONG):
        qtbot.keyClicks(page.path, str(few))
        qtbot.keyClick(page.path, Qt.Key.Key_Return)
    assert "3 usable colour photos" in page.counts.text()
    assert page.warning.isVisible() and "at least 4" in page.warning.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    with qtbot.waitSignal(trainer.scanFailed, timeout=LONG):
        page.path.clear()
        qtbot.keyClicks(page.path, str(tmp_path / "missing"))
        qtbot.keyClick(page.path, Qt.Key.Key_Return)
    assert "not a folder" in page.warning.text()


def test_unpaired_option_needs_a_cyclegan_base_and_a_scan_folder(qtbot, wizard, trainer,
                                                                 tmp_path: Path,
                                                                 tiny_models: Path):
    photos = make_photo_folder(tmp_path / "photos")
    with qtbot.waitSignal(trainer.scanned, timeout=LONG):
        drop_folder(wizard.folder_page.drop, photos)
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    opts = wizard.options_page
    nxt = wizard.button(QWizard.WizardButton.NextButton)
    assert opts.base.count() == len(list(tiny_models.glob("*.toml")))
    click(qtbot, opts.unpaired)
    assert [opts.base.itemData(i) for i in range(opts.base.count())] == \
        ["tiny_mahajan2022_cyclegan"]
    assert opts.grey_path.isVisible() and not nxt.isEnabled()  # needs the scans folder
    qtbot.keyClicks(opts.grey_path, str(photos))
    assert nxt.isEnabled()
    assert opts.options()["unpaired_grey"] == photos
    click(qtbot, opts.unpaired)
    assert opts.base.count() == len(list(tiny_models.glob("*.toml")))
    assert "unpaired_grey" not in opts.options()


def test_closing_while_training_asks_then_stops_cleanly(qtbot, wizard, trainer, tmp_path: Path,
                                                        user_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    photos = make_photo_folder(tmp_path / "photos")
    with qtbot.waitSignal(trainer.scanned, timeout=LONG):
        drop_folder(wizard.folder_page.drop, photos)
    nxt = wizard.button(QWizard.WizardButton.NextButton)
    click(qtbot, nxt)
    opts = wizard.options_page
    click(qtbot, opts.more)
    opts.size.setValue(32)
    opts.batch.setValue(4)
    opts.device.setCurrentIndex(opts.device.findData("cpu"))
    hold = {"on": True}

    def pause_first(step: int, losses: dict) -> None:
        if hold["on"]:
            hold["on"] = False
            trainer.pause()

    trainer.losses.connect(pause_first, Qt.ConnectionType.DirectConnection)
    click(qtbot, nxt)  # a 10-minute budget: it will not end by itself during the test
    qtbot.waitUntil(lambda: wizard.live_page.pause.text() == "Resume", timeout=LONG)
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked: list[str] = []

    def question(parent, title, text, *a, **k):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    wizard.close()  # "No": keeps training
    assert trainer.is_running() and wizard.isVisible() and "Stop it?" in asked[0]
    wizard.close()  # "Yes": stops cleanly (checkpoint kept) and closes
    assert not trainer.is_running() and not wizard.isVisible()
    assert trainer._job.can_resume()
    assert not user_dir.exists() or not any(user_dir.iterdir())


def test_ask_stop_training_for_the_main_window(qtbot, trainer, monkeypatch: pytest.MonkeyPatch):
    from colorstudio.ui.wizard import ask_stop_training

    assert ask_stop_training(None, trainer)  # nothing running: close without asking
    assert ask_stop_training(None, None)


def test_loss_curve_draws_series(qtbot):
    from colorstudio.ui.wizard import LossCurve

    c = LossCurve()
    qtbot.addWidget(c)
    c.resize(400, 200)
    empty = c.grab().toImage()
    for s in range(1, 40):
        c.add(s, {"loss": 4.0 / s ** 0.3, "huber": 0.08 / s ** 0.1, "bad": float("nan")})
    assert c.point_count() == 78 and set(c.series) == {"loss", "huber"}
    img = c.grab().toImage()
    assert img != empty
    arr = np.array([[img.pixelColor(x, y).blue() for x in range(0, 400, 4)]
                    for y in range(0, 200, 4)])
    assert (arr > 150).any()  # the blue loss line is drawn
