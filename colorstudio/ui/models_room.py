"""The models room of the main window (a mixin of `MainWindow`): the model combo box, the
no-model banner, switching models, and opening the model manager and the training wizard.
"""

from __future__ import annotations

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QMessageBox, QWidget

from .model_manager import ModelManager


class ModelsRoom:
    """`self` is the `MainWindow`: it has `engine`, `settings`, `services`, `model_id`,
    `model_combo`, `model_label`, `banner`, `current` and `colourise`."""

    def refresh_models(self) -> None:
        """Re-read the model cards: the combo box, the manager, the no-model banner."""
        cards = self.engine.cards()
        usable = [c for c in cards.values() if c.has_weights]
        want = self.model_id or self.settings.value("models/current", "", str)
        if want not in {c.id for c in usable}:
            pref = self.settings.value("models/default", "", str)
            want = pref if pref in {c.id for c in usable} else self.engine.default_id()
        self.model_id = want
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        model: QStandardItemModel = self.model_combo.model()  # type: ignore[assignment]
        for c in cards.values():
            label = c.name + ("" if c.has_weights else " (no weights)")
            self.model_combo.addItem(label, c.id)
            if not c.has_weights:
                model.item(self.model_combo.count() - 1).setEnabled(False)
            if c.id == self.model_id:
                self.model_combo.setCurrentIndex(self.model_combo.count() - 1)
        self.model_combo.blockSignals(False)
        if self.model_id is None:
            msg = ("No model has weights yet, so photos cannot be colourised. "
                   "Import a model (Models…) or train one on your photos (Tools ▸ Train on "
                   "my photos…)." if cards else
                   "No models are installed. Import a model (Models…) or train one on your "
                   "photos (Tools ▸ Train on my photos…).")
            self.banner.show_message(msg, "warning", "Models…", self.open_model_manager)
        elif self.banner.kind == "warning" and "model" in self.banner.label.text():
            self.banner.dismiss()
        card = cards.get(self.model_id) if self.model_id else None
        self.model_label.setText(f"Model: {card.name if card else 'none'}")
        if self._manager is not None:
            self._manager.current = self.model_id
            self._manager.refresh(reread=False)
        self._update_actions()

    def set_model(self, model_id: str, rerun: bool = True) -> None:
        card = self.engine.cards().get(model_id)
        if card is None or not card.has_weights:
            self.banner.show_message(f"Model '{model_id}' cannot be used: it has no weights.",
                                     "error")
            return
        self.model_id = model_id
        self.settings.setValue("models/current", model_id)
        self.refresh_models()
        if rerun and self.current is not None and self.current.loaded:
            self.colourise()

    def _model_combo_activated(self, index: int) -> None:
        mid = self.model_combo.itemData(index)
        if mid and mid != self.model_id:
            self.set_model(mid)

    def open_model_manager(self) -> ModelManager:
        if self._manager is None:
            self._manager = ModelManager(self.services, self.model_id, self)
            self._manager.modelChosen.connect(self.set_model)
            self._manager.defaultChanged.connect(lambda _: self.refresh_models())
            self._manager.trainRequested.connect(self.open_training_wizard)
        self._manager.current = self.model_id
        self._manager.refresh()
        self._manager.show()
        self._manager.raise_()
        return self._manager

    def open_training_wizard(self) -> QWidget | None:
        """The training wizard (issue 5), if this build has it."""
        try:
            from .wizard import TrainingWizard  # noqa: PLC0415 - optional, imported lazily
        except ImportError as exc:
            QMessageBox.information(self, "Train on my photos",
                                    f"The training wizard is not available in this build "
                                    f"({exc}). Use `colorstudio train` on the command line.")
            return None
        if self._wizard is None or not self._wizard.isVisible():
            self._wizard = TrainingWizard(self, self.services)
            done = getattr(self._wizard, "finished", None)
            if done is not None:
                done.connect(lambda *_: self.services.models_changed())
        self._wizard.show()
        self._wizard.raise_()
        return self._wizard
