"""The model manager (cards, sha256 verification, default, switch, import, refresh) and the
training-wizard hook of the main window."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from uihelpers import make_window, no_thread_leak, write_grey  # noqa: F401 - autouse fixture

TIMEOUT = 60000


def _ids(manager) -> list[str]:  # noqa: ANN001
    return [manager.list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(manager.list.count())]


def test_manager_lists_cards_and_verifies(qtbot, win, tiny_models: Path) -> None:
    m = win.open_model_manager()
    assert m.isVisible()
    assert len(_ids(m)) == len(list(tiny_models.glob("*.toml"))) >= 8
    assert "tiny_guided_unet" in _ids(m)
    m.select("tiny_guided_unet")
    text = m.details.toPlainText()
    assert "Tiny test model (guided_unet)" in text and "★ default" in text
    assert "accepts colour hints" in text and "Licence" in text
    with qtbot.waitSignal(win.engine.finished, timeout=TIMEOUT):
        m.verify_button.click()
    qtbot.waitUntil(lambda: m.verified.get("tiny_guided_unet") is True)
    assert "verified" in m.details.toPlainText()


def test_manager_detects_damaged_weights(qtbot, tmp_path: Path) -> None:
    from colorstudio.engine.tiny import write_tiny_models

    d = tmp_path / "models"
    write_tiny_models(d, ["mane2021_cnn"])
    weights = next(d.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-8] + b"damaged!")
    w, s = make_window(qtbot, [d], tmp_path / "s.ini")
    try:
        m = w.open_model_manager()
        with qtbot.waitSignal(w.engine.finished, timeout=TIMEOUT):
            m.verify_selected()
        qtbot.waitUntil(lambda: m.verified.get("tiny_mane2021_cnn") is False)
        assert "MISMATCH" in m.details.toPlainText()
    finally:
        w.close()
        s.engine.shutdown()


def test_use_model_and_make_default(qtbot, win, tmp_path: Path) -> None:
    win.open_paths([write_grey(tmp_path / "p.png")])
    qtbot.waitUntil(lambda: win.current is not None and win.current.result is not None,
                    timeout=TIMEOUT)
    m = win.open_model_manager()
    m.select("tiny_dehghan2023_autoencoder")
    with qtbot.waitSignal(win.resultShown, timeout=TIMEOUT):
        m.use_button.click()
    assert win.model_id == "tiny_dehghan2023_autoencoder"
    assert win.current.result.model_id == "tiny_dehghan2023_autoencoder"
    m.select("tiny_mane2021_cnn")
    m.default_button.click()
    assert win.settings.value("models/default") == "tiny_mane2021_cnn"
    assert "★ default" in m.details.toPlainText()


def test_import_appears_in_manager_and_combo(qtbot, win, tiny_models: Path,
                                             tmp_path: Path) -> None:
    m = win.open_model_manager()
    card = tmp_path / "mine.toml"
    card.write_text((tiny_models / "tiny_mane2021_cnn.toml").read_text()
                    .replace('id = "tiny_mane2021_cnn"', 'id = "my_archive_cnn"')
                    .replace('name = "Tiny test model (mane2021_cnn)"', 'name = "My archive"'))
    weights = next(tiny_models.glob("tiny_mane2021_cnn-*.safetensors"))
    with qtbot.waitSignal(win.engine.finished, timeout=TIMEOUT):
        m.import_files(weights, card)
    qtbot.waitUntil(lambda: "my_archive_cnn" in _ids(m))
    assert m.selected_id() == "my_archive_cnn"
    assert win.model_combo.findData("my_archive_cnn") >= 0
    assert (tmp_path / "user_models" / "my_archive_cnn.toml").is_file()
    with qtbot.waitSignal(win.engine.failed, timeout=TIMEOUT):
        m.import_files(tmp_path / "weights.pth", card)
    assert "only .safetensors" in m.status.text()


def test_refresh_shows_models_added_on_disk(qtbot, win, tmp_path: Path) -> None:
    from colorstudio.engine.tiny import write_tiny_models

    m = win.open_model_manager()
    assert "tiny_extra" not in _ids(m)
    extra = tmp_path / "user_models"
    write_tiny_models(extra, ["dehghan2023_autoencoder"])
    toml = extra / "tiny_dehghan2023_autoencoder.toml"
    toml.rename(extra / "tiny_extra.toml")
    (extra / "tiny_extra.toml").write_text((extra / "tiny_extra.toml").read_text().replace(
        'id = "tiny_dehghan2023_autoencoder"', 'id = "tiny_extra"'))
    win.services.models_changed()  # what the training wizard calls after an export
    assert "tiny_extra" in _ids(m)
    assert win.model_combo.findData("tiny_extra") >= 0


def test_training_wizard_hook(qtbot, win, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []

    class FakeWizard(QDialog):
        def __init__(self, parent, services) -> None:  # noqa: ANN001
            super().__init__(parent)
            made.append(services)

    module = types.ModuleType("colorstudio.ui.wizard")
    module.TrainingWizard = FakeWizard  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "colorstudio.ui.wizard", module)
    wiz = win.open_training_wizard()
    assert isinstance(wiz, FakeWizard) and made == [win.services]
    refreshed: list[bool] = []
    win.services.listeners.append(lambda: refreshed.append(True))
    wiz.accept()  # finished -> the model lists re-read the cards
    assert refreshed
    m = win.open_model_manager()
    with qtbot.waitSignal(m.trainRequested):
        m.train_button.click()


def test_real_training_wizard_opens_with_a_trainer(qtbot, win) -> None:
    wizard = pytest.importorskip("colorstudio.ui.wizard")
    wiz = win.open_training_wizard()
    assert isinstance(wiz, wizard.TrainingWizard)
    assert wiz.isVisible() and win.services.trainer is not None
    wiz.close()


def test_card_metrics_show_the_grey_baseline_and_hint_gains() -> None:
    """The bundled default's measured numbers, one line per kind, with the grey baseline."""
    import dataclasses

    from colorstudio.core.cards import Metrics, bundled_models_dir, load_card
    from colorstudio.ui.model_manager import card_html

    card = load_card(bundled_models_dir() / "guided_unet.toml")
    m = card.metrics
    html = card_html(card, is_default=True, verified=None)
    assert (f"PSNR {m.psnr:.2f} dB · grey input {m.grey_psnr:.2f} dB<br>"
            f"with 10 hints {m.psnr_hints10:.2f} dB · with 100 hints {m.psnr_hints100:.2f} dB<br>"
            f"colourfulness {m.colourfulness:.1f}") in html
    assert f"({m.images} images)" in html
    unmeasured = card_html(dataclasses.replace(card, metrics=Metrics()), False, None)
    assert "<b>Metrics</b></td><td>not measured" in unmeasured
