"""The model manager: every registered model with its card, weights status (present, sha256
verified), the default; switch models, import a safetensors file with its card, train.

Cards are shown in the users' words (`core/wording.py`): the papers by title and authors,
not the project's "paper 003"; no `../shared/data` paths; loss weights in words.

`refresh()` re-reads the cards, so models exported by the training wizard appear at once.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QFileDialog, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QSplitter, QTextBrowser,
                               QVBoxLayout, QWidget)

from ..core.cards import Metrics, ModelCard
from ..core.wording import card_for_people
from .services import AppServices
from .theme import icon


def _fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _metrics_html(m: Metrics) -> str:
    """One line per kind of number, with the grey-input baseline beside the PSNR and the
    original photos' colourfulness beside the model's."""
    # The yardstick for colourfulness is the original colour photos' own, measured in the
    # same run (older cards did not record it: then the number stands alone).
    truth = ("" if m.truth_colourfulness is None
             else f" (the original colour photos: {m.truth_colourfulness:.1f})")

    def join(parts: tuple[tuple[str, float | None, str], ...]) -> str:
        return " · ".join(f"{label} {fmt.format(v)}" for label, v, fmt in parts if v is not None)

    lines = [join((("PSNR", m.psnr, "{:.2f} dB"), ("grey input", m.grey_psnr, "{:.2f} dB"))),
             join((("with 10 hints", m.psnr_hints10, "{:.2f} dB"),
                   ("with 100 hints", m.psnr_hints100, "{:.2f} dB"))),
             join((("colourfulness", m.colourfulness, "{:.1f}" + truth),
                   ("SSIM", m.ssim, "{:.3f}"), ("CIEDE2000", m.ciede2000, "{:.1f}")))]
    lines = [line for line in lines if line]
    if not lines:
        return "not measured"
    if m.dataset:
        lines.append(f"on {html.escape(m.dataset)} ({m.images} images)")
    return "<br>".join(lines)


def card_html(card: ModelCard, is_default: bool, verified: bool | None) -> str:
    e = html.escape
    card = card_for_people(card)
    m = card.metrics
    if not card.has_weights:
        status = "<span style='color:#c0392b'>no weights file yet</span>"
    elif verified is None:
        status = "weights present (sha256 not checked yet)"
    elif verified:
        status = "<span style='color:#27ae60'>weights verified (sha256 matches)</span>"
    else:
        status = "<span style='color:#c0392b'>sha256 MISMATCH: damaged or replaced</span>"
    rows = [
        ("Paper", e(card.paper)),
        ("Good at", e(card.good_at or card.summary or "-")),
        ("Architecture", e(card.arch) + (" (accepts colour hints)" if card.hints else "")),
        ("Parameters", f"{card.params / 1e6:.2f} M" if card.params else "-"),
        ("Weights", f"{e(card.weights or '-')} · {_fmt_bytes(card.bytes) if card.bytes else '-'}"
                    f" · {e(card.precision)}"),
        ("Status", status),
        ("Working size", f"{card.working_size} px"),
        ("Training data", e(card.training_data or "-")),
        ("Licence", e(card.licence or "-")),
        ("Recipe", e(card.recipe or "-")),
        ("Hardware / time", e(" · ".join(x for x in (card.hardware, card.training_time) if x)
                              or "-")),
    ]
    rows.append(("Metrics", _metrics_html(m)))
    if card.limitations:
        rows.append(("Limitations", e(card.limitations)))
    if card.deviations:
        rows.append(("Deviations from the paper", "<br>".join(e(d) for d in card.deviations)))
    body = "".join(f"<tr><td style='padding-right:10px; vertical-align:top'><b>{k}</b></td>"
                   f"<td>{v}</td></tr>" for k, v in rows)
    star = " ★ default" if is_default else ""
    return (f"<h3>{e(card.name)}{star}</h3><p><code>{e(card.id)}</code> · version "
            f"{e(card.version)}</p><table>{body}</table>")


class ModelManager(QDialog):
    modelChosen = Signal(str)  # "use this model" (the window switches and re-runs)
    defaultChanged = Signal(str)
    trainRequested = Signal()

    def __init__(self, services: AppServices, current: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(900, 560)
        self.services = services
        self.engine = services.engine
        self.current = current
        self.verified: dict[str, bool] = {}
        self._jobs: dict[int, tuple[str, str]] = {}
        self.list = QListWidget()
        self.list.setMinimumWidth(330)
        self.details = QTextBrowser()
        self.details.setOpenExternalLinks(True)
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(self.details)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 570])
        self.status = QLabel()
        self.use_button = QPushButton(icon("mdi6.play"), "Use this model")
        self.default_button = QPushButton(icon("mdi6.star"), "Make default")
        self.verify_button = QPushButton(icon("mdi6.check-decagram"), "Verify sha256")
        self.import_button = QPushButton(icon("mdi6.import"), "Import…")
        self.train_button = QPushButton(icon("mdi6.school"), "Train on my photos…")
        self.refresh_button = QPushButton(icon("mdi6.refresh"), "Refresh")
        buttons = QHBoxLayout()
        for b in (self.use_button, self.default_button, self.verify_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.import_button, self.train_button, self.refresh_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)
        lay.addLayout(buttons)
        self.list.currentItemChanged.connect(lambda *_: self._show_selected())
        self.list.itemDoubleClicked.connect(lambda *_: self.use_selected())
        self.use_button.clicked.connect(self.use_selected)
        self.default_button.clicked.connect(self.make_default)
        self.verify_button.clicked.connect(self.verify_selected)
        self.import_button.clicked.connect(self._import_dialog)
        self.train_button.clicked.connect(self.trainRequested)
        self.refresh_button.clicked.connect(lambda: self.refresh(reread=True))
        self.engine.finished.connect(self._job_finished)
        self.engine.failed.connect(self._job_failed)
        self.engine.cancelled.connect(lambda jid: self._jobs.pop(jid, None))
        self.refresh()

    # ----- content -----
    def default_id(self) -> str | None:
        pref = self.services.settings.value("models/default", "", str)
        return pref if pref in self.engine.cards() else self.engine.default_id()

    def refresh(self, reread: bool = True) -> None:
        """Re-read the model cards (new imports, models exported by the wizard)."""
        keep = self.selected_id() or self.current
        cards = self.engine.cards(refresh=reread)
        default = self.default_id()
        self.list.blockSignals(True)
        self.list.clear()
        for card in cards.values():
            item = QListWidgetItem(card.name)
            item.setData(Qt.ItemDataRole.UserRole, card.id)
            if not card.has_weights:
                item.setIcon(icon("mdi6.alert"))
                item.setToolTip("no weights file")
            elif self.verified.get(card.id) is False:
                item.setIcon(icon("mdi6.alert-circle"))
            elif card.id == default:
                item.setIcon(icon("mdi6.star"))
            else:
                item.setIcon(icon("mdi6.cube-outline"))
            if card.id == self.current:
                f = item.font()
                f.setBold(True)
                item.setFont(f)
            self.list.addItem(item)
            if card.id == keep:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        if not cards:
            self.details.setHtml("<h3>No models found</h3><p>Import a model (a .safetensors "
                                 "file with its card), or train one on your photos.</p>")
        self._show_selected()

    def selected_id(self) -> str | None:
        item = self.list.currentItem() if hasattr(self, "list") else None
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, model_id: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == model_id:
                self.list.setCurrentRow(i)
                return

    def _show_selected(self) -> None:
        mid = self.selected_id()
        cards = self.engine.cards()
        card = cards.get(mid) if mid else None
        for b in (self.use_button, self.default_button, self.verify_button):
            b.setEnabled(card is not None and card.has_weights)
        if card is not None:
            self.details.setHtml(card_html(card, card.id == self.default_id(),
                                           self.verified.get(card.id)))

    # ----- actions -----
    def use_selected(self) -> None:
        mid = self.selected_id()
        if mid and self.engine.cards()[mid].has_weights:
            self.current = mid
            self.modelChosen.emit(mid)
            self.refresh(reread=False)

    def make_default(self) -> None:
        mid = self.selected_id()
        if mid:
            self.services.settings.setValue("models/default", mid)
            self.defaultChanged.emit(mid)
            self.refresh(reread=False)

    def verify_selected(self) -> int | None:
        mid = self.selected_id()
        if not mid:
            return None
        self.status.setText(f"Checking the sha256 of {mid}…")
        jid = self.engine.verify(mid)
        self._jobs[jid] = ("verify", mid)
        return jid

    def _import_dialog(self) -> None:
        weights, _ = QFileDialog.getOpenFileName(self, "Weights to import", "",
                                                 "safetensors weights (*.safetensors)")
        if not weights:
            return
        default_card = str(Path(weights).with_suffix(".toml"))
        card, _ = QFileDialog.getOpenFileName(self, "Its model card", default_card,
                                              "Model card (*.toml)")
        if card:
            self.import_files(Path(weights), Path(card))

    def import_files(self, weights: Path, card: Path) -> int:
        self.status.setText(f"Importing {weights.name}…")
        jid = self.engine.import_model(weights, card)
        self._jobs[jid] = ("import", weights.name)
        return jid

    def _job_finished(self, jid: int, result: object) -> None:
        job = self._jobs.pop(jid, None)
        if job is None:
            return
        kind, what = job
        if kind == "verify":
            self.verified[what] = bool(result)
            self.status.setText(f"{what}: " + ("sha256 verified." if result else
                                               "sha256 does NOT match the card."))
            self.refresh(reread=False)
        elif kind == "import":
            card: ModelCard = result  # type: ignore[assignment]
            self.services.models_changed()
            where = card.path.parent if card.path else ""
            self.status.setText(f"Imported '{card.id}' into {where}.")
            self.refresh(reread=False)
            self.select(card.id)

    def _job_failed(self, jid: int, message: str) -> None:
        if self._jobs.pop(jid, None) is not None:
            self.status.setText(f"<span style='color:#c0392b'>{html.escape(message)}</span>")
