"""Issue 13, point 10, the training wizard: one "(default)" marker, no live "< Back" on the
first page (nor while a run is active), one step number after stopping, and a second
fine-tune run that proposes a free model name and never overwrites a model silently.

Real widgets (pytest-qt, offscreen) and real training runs of the tiny test model.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWizard

from test_finetune import _job, make_photo_folder
from test_wizard import LONG, click, drop_folder, trainer, user_dir, wizard  # noqa: F401

from colorstudio.cli import main as cli_main
from colorstudio.core.cards import load_card


def _open_wizard(qtbot, trainer, monkeypatch):  # noqa: F811 - the fixture's namesake
    from colorstudio.ui.wizard import TrainingWizard

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    w = TrainingWizard(None, SimpleNamespace(trainer=trainer, models_changed=lambda: None))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def _to_options(qtbot, wiz, trainer, photos: Path) -> None:  # noqa: F811
    with qtbot.waitSignal(trainer.scanned, timeout=LONG):
        drop_folder(wiz.folder_page.drop, photos)
    click(qtbot, wiz.button(QWizard.WizardButton.NextButton))
    opts = wiz.options_page
    click(qtbot, opts.more)
    click(qtbot, opts.by_epochs)
    opts.size.setValue(32)
    opts.batch.setValue(4)
    opts.device.setCurrentIndex(opts.device.findData("cpu"))


def _train_to_result(qtbot, wiz, trainer, photos: Path, epochs: float = 1) -> None:  # noqa: F811
    from colorstudio.ui.wizard import PAGE_RESULT

    _to_options(qtbot, wiz, trainer, photos)
    wiz.options_page.epochs.setValue(epochs)
    with qtbot.waitSignal(trainer.finished, timeout=LONG):
        click(qtbot, wiz.button(QWizard.WizardButton.NextButton))
    qtbot.waitUntil(lambda: wiz.currentId() == PAGE_RESULT, timeout=LONG)


def _shot(widget, name: str) -> None:
    import os

    d = os.environ.get("COLORSTUDIO_SCREENSHOTS")
    if d:
        from PySide6.QtWidgets import QApplication

        Path(d).mkdir(parents=True, exist_ok=True)
        QApplication.processEvents()
        widget.grab().save(str(Path(d) / f"h4_{name}.png"))


# ----------------------------------------------------------------------------- "(default)"

def test_default_marker_is_shown_once(qtbot, tiny_models: Path, tmp_path: Path,
                                      user_dir: Path,  # noqa: F811
                                      monkeypatch: pytest.MonkeyPatch):
    """The bundled default card is named "Guided U-Net (default)": the wizard adds no second
    marker, and a card that is no longer the default does not claim to be."""
    from colorstudio.train.service import TrainingService

    models = tmp_path / "models"
    shutil.copytree(tiny_models, models)

    def rename(card_id: str, name: str) -> None:
        p = models / f"{card_id}.toml"
        lines = p.read_text().splitlines()
        lines = [f'name = "{name}"' if ln.startswith("name = ") else ln for ln in lines]
        p.write_text("\n".join(lines) + "\n")

    rename("tiny_guided_unet", "Guided U-Net (default)")  # the default, as in models/
    rename("tiny_mane2021_cnn", "Old CNN (default)")  # not the default any more
    t = TrainingService(models_dirs=[models], models_dir=user_dir)
    try:
        wiz = _open_wizard(qtbot, t, monkeypatch)
        _to_options(qtbot, wiz, t, make_photo_folder(tmp_path / "photos"))
        base = wiz.options_page.base
        labels = {base.itemData(i): base.itemText(i) for i in range(base.count())}
        assert base.currentData() == "tiny_guided_unet"
        assert labels["tiny_guided_unet"] == "Guided U-Net  (default)"
        assert labels["tiny_mane2021_cnn"] == "Old CNN"
        assert sum("(default)" in text for text in labels.values()) == 1
        _shot(wiz, "2_options_default_once")
        wiz.close()
    finally:
        t.shutdown()


# ----------------------------------------------------------------------------- "< Back"

def test_back_is_disabled_on_the_first_page_and_while_training(qtbot, wizard, trainer,  # noqa: F811
                                                               tmp_path: Path):
    from colorstudio.ui.wizard import PAGE_FOLDER, PAGE_LIVE, PAGE_OPTIONS

    back = wizard.button(QWizard.WizardButton.BackButton)
    nxt = wizard.button(QWizard.WizardButton.NextButton)
    assert wizard.currentId() == PAGE_FOLDER and not back.isEnabled()
    photos = make_photo_folder(tmp_path / "photos")
    with qtbot.waitSignal(trainer.scanned, timeout=LONG):
        drop_folder(wizard.folder_page.drop, photos)
    assert not back.isEnabled()  # still the first page after the scan (completeChanged)
    _shot(wizard, "1_photos_no_back")
    click(qtbot, nxt)
    assert wizard.currentId() == PAGE_OPTIONS and back.isEnabled()
    click(qtbot, back)
    assert wizard.currentId() == PAGE_FOLDER and not back.isEnabled()
    click(qtbot, nxt)

    # While the run is active, Back would silently stop it: disabled; enabled once stopped.
    opts = wizard.options_page
    click(qtbot, opts.more)
    opts.size.setValue(32)
    opts.batch.setValue(4)
    opts.device.setCurrentIndex(opts.device.findData("cpu"))
    hold = {"on": True}

    def pause_first(step: int, losses: dict) -> None:  # on the training thread
        if hold["on"]:
            hold["on"] = False
            trainer.pause()

    trainer.losses.connect(pause_first, Qt.ConnectionType.DirectConnection)
    click(qtbot, nxt)  # a 10-minute budget: it does not end by itself
    live = wizard.live_page
    assert wizard.currentId() == PAGE_LIVE
    qtbot.waitUntil(lambda: live.pause.text() == "Resume", timeout=LONG)
    assert trainer.is_running() and not back.isEnabled()
    with qtbot.waitSignal(trainer.cancelled, timeout=LONG):
        click(qtbot, live.cancel)
    qtbot.waitUntil(lambda: not trainer.is_running(), timeout=LONG)
    assert back.isEnabled()
    hold["on"] = True  # "Resume training": active again, so Back is off again
    click(qtbot, live.resume)
    qtbot.waitUntil(lambda: live.pause.text() == "Resume", timeout=LONG)
    assert trainer.is_running() and not back.isEnabled()
    with qtbot.waitSignal(trainer.cancelled, timeout=LONG):
        click(qtbot, live.cancel)
    qtbot.waitUntil(lambda: not trainer.is_running(), timeout=LONG)
    assert back.isEnabled()
    click(qtbot, back)
    assert wizard.currentId() == PAGE_OPTIONS


# ----------------------------------------------------------------------------- step numbers

class _CountingGate(threading.Event):
    """The service's pause gate, counting the loop's per-step checks once armed: cancels on
    the third check, i.e. after two more steps that the loop does not report (log_every 5)."""

    def __init__(self, on_third) -> None:
        super().__init__()
        self.armed = False
        self.count = 0
        self.on_third = on_third

    def wait(self, timeout=None):  # noqa: ANN001, ANN201
        if self.armed:
            self.count += 1
            if self.count == 3:
                self.on_third()
        return super().wait(timeout)


def test_stopped_step_matches_the_step_shown(qtbot, wizard, trainer, tmp_path: Path):  # noqa: F811
    """75 steps are logged every 5: stopping after step 17 must not leave "step 15" beside
    "Stopped at step 17" (the status, the step line and the loss curve agree)."""
    from colorstudio.ui.wizard import PAGE_LIVE

    _to_options(qtbot, wizard, trainer, make_photo_folder(tmp_path / "photos"))
    wizard.options_page.epochs.setValue(30)  # 10 photos / batch 4 -> 75 steps, logged every 5
    gate = _CountingGate(lambda: trainer._cancel.set())
    gate.set()
    trainer._gate = gate

    def arm(step: int, losses: dict) -> None:  # on the training thread, after step 15
        if step == 15:
            gate.armed = True

    trainer.losses.connect(arm, Qt.ConnectionType.DirectConnection)
    steps: list[int] = []
    trainer.cancelled.connect(steps.append)
    with qtbot.waitSignal(trainer.cancelled, timeout=LONG):
        click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    live = wizard.live_page
    assert wizard.currentId() == PAGE_LIVE
    qtbot.waitUntil(lambda: not trainer.is_running(), timeout=LONG)
    assert steps == [17]
    assert live.status.text() == "Stopped at step 17."
    assert "step 17" in live.stats.text() and "step 15" not in live.stats.text()
    assert "ETA" not in live.stats.text()  # a stopped run has no ETA
    assert max(s for s, _ in live.curve.series["loss"]) == 17
    _shot(wizard, "3_stopped_same_step")

    # Resuming continues from that step, and the numbers agree again at the end.
    phases: list[str] = []
    trainer.phase.connect(phases.append)
    gate.armed = False
    with qtbot.waitSignal(trainer.finished, timeout=LONG):
        click(qtbot, live.resume)
    assert any("resumed at step 17" in p for p in phases)
    assert trainer.result.steps == 75


def test_cli_progress_reports_the_final_step(tiny_models: Path, tmp_path: Path,
                                             user_dir: Path) -> None:  # noqa: F811
    """`colorstudio train`'s progress printer: a run cancelled between logged steps ends with
    a progress line at the step it stopped at, not the last logged one."""
    import io

    from colorstudio.commands.train import _Progress
    from colorstudio.train.fit import TrainEvent

    out = io.StringIO()
    p = _Progress(out)
    p(TrainEvent("step", 15, 75, {"loss": 0.5}, 40.0, 3.0))
    p(TrainEvent("cancelled", 17, 75, {"loss": 0.4}))
    lines = out.getvalue().splitlines()
    assert "step 15" in lines[0]
    assert "step 17" in lines[-2] and lines[-1] == "cancelled at step 17"


# ----------------------------------------------------------------------------- model names

def test_free_name_skips_taken_ids_even_when_truncated() -> None:
    from colorstudio.train.finetune_archs import free_name, model_id_for

    assert free_name("Harbour", set()) == "Harbour"
    assert free_name("Harbour", {"harbour"}) == "Harbour 2"
    assert free_name("Harbour", {"harbour", "harbour_2", "harbour_3"}) == "Harbour 4"
    long = "x" * 60  # ids are cut at 48 characters: the number must survive the cut
    taken = {model_id_for(long)}
    second = free_name(long, taken)
    assert model_id_for(second) not in taken and model_id_for(second).endswith("_2")
    taken.add(model_id_for(second))
    third = free_name(long, taken)
    assert model_id_for(third) not in taken and model_id_for(third).endswith("_3")


def test_second_finetune_proposes_a_free_name_and_keeps_the_first(
        tiny_models: Path, tmp_path: Path, user_dir: Path) -> None:  # noqa: F811
    photos = make_photo_folder(tmp_path / "photos")
    first = _job(tiny_models, photos, steps=1)
    assert first.name == "tiny_guided_unet on photos"
    card1 = first.save(first.run())
    before = {p.name: p.read_bytes() for p in user_dir.iterdir()}

    second = _job(tiny_models, photos, steps=1)
    assert second.name == "tiny_guided_unet on photos 2"
    assert second.model_id == "tiny_guided_unet_on_photos_2"
    second.check_name()  # free: no error
    card2 = second.save(second.run())
    assert card2.id != card1.id and card2.verify()
    for name, data in before.items():  # the first model is untouched
        assert (user_dir / name).read_bytes() == data
    assert load_card(user_dir / f"{card1.id}.toml").verify()

    # A name the user chose that is taken is refused, not overwritten.
    clash = _job(tiny_models, photos, steps=1, name="tiny_guided_unet on photos")
    with pytest.raises(Exception, match="already exists"):
        clash.check_name()
    r = clash.run()
    with pytest.raises(Exception, match="already exists"):
        clash.save(r)
    with pytest.raises(Exception, match="already exists"):
        _job(tiny_models, photos, steps=1).save(r, "tiny_guided_unet on photos 2")
    for name, data in before.items():
        assert (user_dir / name).read_bytes() == data


def test_cli_second_run_without_name_saves_beside_the_first(
        tiny_models: Path, tmp_path: Path, user_dir: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    photos = make_photo_folder(tmp_path / "photos")
    argv = ["--models-dir", str(tiny_models), "train", "--data", str(photos), "--steps", "2",
            "--size", "32", "--batch", "4", "--device", "cpu"]
    assert cli_main(argv) == 0
    capsys.readouterr()
    first = user_dir / "tiny_guided_unet_on_photos.toml"
    data = first.read_bytes()
    rc = cli_main(argv)
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "tiny_guided_unet_on_photos_2" in out
    assert "tiny_guided_unet_on_photos" in err and "already exists" in err  # said, not silent
    assert first.read_bytes() == data
    second = user_dir / "tiny_guided_unet_on_photos_2.toml"
    assert load_card(second).verify()
    # --overwrite without --name replaces the model of the plain default name (asked for).
    data2 = second.read_bytes()
    inode = first.stat().st_ino
    assert cli_main(argv + ["--overwrite"]) == 0
    out, err = capsys.readouterr()
    assert "saved model 'tiny_guided_unet_on_photos'" in out
    # Rewritten (a new file renamed over it; the bytes may match: the same seed, the same
    # second), and the second model left alone.
    assert first.stat().st_ino != inode and second.read_bytes() == data2
    assert not (user_dir / "tiny_guided_unet_on_photos_3.toml").exists()


def test_resume_finds_a_run_under_its_free_name(tiny_models: Path, tmp_path: Path,
                                                user_dir: Path) -> None:  # noqa: F811
    """An interrupted second run (proposed "... 2") is found again by the wizard."""
    from colorstudio.train.service import TrainingService

    photos = make_photo_folder(tmp_path / "photos")
    first = _job(tiny_models, photos, steps=1)
    first.save(first.run())
    second = _job(tiny_models, photos, steps=50)
    started: list[bool] = []
    second.run(lambda e: started.append(True) if e.kind == "start" else None,
               cancel=lambda: bool(started))
    assert second.can_resume() and second.model_id == "tiny_guided_unet_on_photos_2"
    t = TrainingService(models_dirs=[tiny_models], models_dir=user_dir)
    try:
        assert t.can_resume("tiny_guided_unet", photos)
    finally:
        t.shutdown()
    again = _job(tiny_models, photos, steps=50)
    assert again.model_id == second.model_id and again.can_resume()


def test_wizard_second_run_proposes_a_free_name_and_refuses_a_taken_one(
        qtbot, wizard, trainer, tmp_path: Path, user_dir: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch):
    photos = make_photo_folder(tmp_path / "photos")
    _train_to_result(qtbot, wizard, trainer, photos)
    assert wizard.result_page.name.text() == "tiny_guided_unet on photos"
    click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    assert not wizard.isVisible()
    first = user_dir / "tiny_guided_unet_on_photos.toml"
    data = first.read_bytes()

    wiz = _open_wizard(qtbot, trainer, monkeypatch)
    _train_to_result(qtbot, wiz, trainer, photos)
    res = wiz.result_page
    finish = wiz.button(QWizard.WizardButton.FinishButton)
    assert res.name.text() == "tiny_guided_unet on photos 2"
    assert not res.error.isVisible() and finish.isEnabled()
    res.name.clear()
    qtbot.keyClicks(res.name, "tiny_guided_unet on photos")  # the first model's name
    assert res.error.isVisible() and res.error.text() == (
        "A model “tiny_guided_unet on photos” (id tiny_guided_unet_on_photos) already exists; "
        "models are never overwritten. Choose another name.")
    assert not finish.isEnabled()
    _shot(wiz, "4_result_name_taken")
    res.error.setVisible(False)  # even when forced past the inline check: refused, said
    assert res.validatePage() is False
    assert res.error.isVisible() and "never overwritten" in res.error.text()
    assert first.read_bytes() == data
    res.name.clear()
    qtbot.keyClicks(res.name, "tiny_guided_unet on photos 2")
    assert not res.error.isVisible() and finish.isEnabled()
    _shot(wiz, "4_result_free_name")
    click(qtbot, finish)
    assert not wiz.isVisible()
    assert first.read_bytes() == data
    assert load_card(user_dir / "tiny_guided_unet_on_photos_2.toml").verify()


# ----------------------------------------------------------------------------- start again

def test_resume_right_after_stop_waits_for_the_stopping_run(qtbot, trainer,  # noqa: F811
                                                            tmp_path: Path):
    """"Resume training" clicked while the stopped run's thread is still winding down starts
    the new run instead of raising "already in progress" (a traceback in a Qt slot)."""
    import time

    photos = make_photo_folder(tmp_path / "photos")
    opts = dict(data=photos, base="tiny_guided_unet", epochs=30.0, size=32, batch=4,
                device="cpu")
    in_slot = threading.Event()

    def linger(step: int) -> None:  # on the worker thread, before it ends
        if not in_slot.is_set():
            in_slot.set()
            time.sleep(1.0)

    trainer.cancelled.connect(linger, Qt.ConnectionType.DirectConnection)
    trainer.losses.connect(lambda s, l: trainer.cancel() if not in_slot.is_set() else None,
                           Qt.ConnectionType.DirectConnection)
    trainer.start(opts)
    qtbot.waitUntil(in_slot.is_set, timeout=LONG)
    assert trainer.is_running()  # still winding down
    with qtbot.waitSignal(trainer.finished, timeout=LONG):
        trainer.start(opts, resume=True)
    assert trainer.result.steps == 75


def test_a_run_that_cannot_start_is_one_line_on_the_page(qtbot, wizard, trainer,  # noqa: F811
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    from colorstudio.core.errors import ColorStudioError

    def refuse(*a, **k):
        raise ColorStudioError("a training run is already in progress")

    _to_options(qtbot, wizard, trainer, make_photo_folder(tmp_path / "photos"))
    monkeypatch.setattr(trainer, "start", refuse)
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    live = wizard.live_page
    assert live.message.isVisible() and "already in progress" in live.message.text()
    assert live.status.text() == "Training failed." and not live.running
    assert wizard.button(QWizard.WizardButton.BackButton).isEnabled()
