"""What the composition root (`colorstudio/app.py`) hands to the widgets: no torch in here.

The training wizard (`colorstudio.ui.wizard.TrainingWizard(parent, services)`) receives the
same object: `engine` (a `core.jobs.EngineAPI`, in practice `engine.service.EngineService`:
cards, jobs and signals),
`settings` (QSettings), `models_dirs` (None = bundled + user folders) and
`models_changed()` to call after it exported a model, so the model lists refresh, and
`trainer` (a `train.service.TrainingService`, created on first use by `trainer_factory`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from ..core.jobs import EngineAPI


@dataclass
class AppServices:
    engine: EngineAPI  # engine.service.EngineService satisfies it (ui never imports engine)
    settings: QSettings
    models_dirs: list[Path] | None = None
    sample_path: Path | None = None
    listeners: list[Callable[[], None]] = field(default_factory=list)
    trainer_factory: Callable[[], Any] | None = None
    _trainer: Any = None

    @property
    def trainer(self) -> Any:
        """The training service (built on first use: most sessions never train)."""
        if self._trainer is None and self.trainer_factory is not None:
            self._trainer = self.trainer_factory()
        return self._trainer

    def shutdown(self) -> None:
        """Stop every background thread (engine jobs, training) and wait for them."""
        if self._trainer is not None:
            self._trainer.shutdown()
        self.engine.shutdown()

    def models_changed(self) -> None:
        """Re-read model cards everywhere (the wizard calls this after exporting a model)."""
        self.engine.cards(refresh=True)
        for fn in list(self.listeners):
            fn()
