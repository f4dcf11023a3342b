"""A dismissable message strip above the canvas: errors are data shown here, never tracebacks.

A message may name its `source` (the photo it is about): moving to another photo dismisses
errors and notes about the previous one (`dismiss_unless`), so no stale error stays on screen
over a photo that is fine. Warnings about the app's state (no model) stay until resolved.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from .theme import icon

_STYLE = {
    "error": ("mdi6.alert-circle", "#7a1f1f", "#ffd9d9"),
    "warning": ("mdi6.alert", "#6b5200", "#fff1c2"),
    "info": ("mdi6.information", "#1d4f7a", "#dcecff"),
}


class Banner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        self.icon = QLabel(self)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton(self)
        self.close_button = QToolButton(self)
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        lay.addWidget(self.icon)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.action)
        lay.addWidget(self.close_button)
        self.kind = ""
        self.source: object = None
        self._callback: Callable[[], None] | None = None
        self.action.clicked.connect(self._act)
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisibleTo(self.parentWidget()) else ""

    def show_message(self, text: str, kind: str = "error", action: str | None = None,
                     callback: Callable[[], None] | None = None, source: object = None) -> None:
        name, fg, bg = _STYLE.get(kind, _STYLE["info"])
        self.kind = kind
        self.source = source
        self.setStyleSheet(f"#banner {{ background: {bg}; border-radius: 4px; }} "
                           f"#banner QLabel {{ color: {fg}; }}")
        self.icon.setPixmap(icon(name).pixmap(18, 18))
        self.close_button.setIcon(icon("mdi6.close"))
        self.label.setText(text)
        self._callback = callback
        self.action.setVisible(bool(action))
        self.action.setText(action or "")
        self.show()

    def dismiss(self) -> None:
        self.kind = ""
        self.source = None
        self.hide()

    def dismiss_unless(self, source: object) -> None:
        """Moving to `source`: hide an error or note that is not about it (warnings stay)."""
        if self.kind in ("error", "info") and self.source is not source:
            self.dismiss()

    def _act(self) -> None:
        if self._callback is not None:
            self._callback()
