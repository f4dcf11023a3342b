"""The export room: the dialogs, where every photo's output goes, the overwrite question, and
the one export job (`EngineAPI.export` -> `Colorizer.colorize_file`, as the CLI uses).

A photo whose on-screen result was made from today's inputs (model, hints, recipe, colour
strength, reference photo) is exported from that result: `ExportItem.result` carries it and
the model does not run again.
Outputs never replace an original, and no two photos of a batch share one output.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from ..core.jobs import ExportItem, ExportSummary, JobKind
from .document import Document
from .export_dialog import (ExportDialog, ExportOptions, compare_path, default_output,
                            free_output, load_options, numbered, save_options)

if TYPE_CHECKING:
    from .main_window import MainWindow


class ExportController(QObject):
    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win

    # ----- dialogs -----
    def export_dialog(self, compare: bool = False) -> None:
        doc = self.win.current
        if doc is None:
            return
        opts = load_options(self.win.settings, **({"compare": True} if compare else {}))
        dlg = ExportDialog([doc.path], batch=False, parent=self.win, options=opts)
        if dlg.exec():
            save_options(self.win.settings, dlg.options())
            self.export_current(dlg.options())

    def batch_export_dialog(self) -> None:
        if not self.win.docs:
            return
        dlg = ExportDialog([d.path for d in self.win.docs], batch=True, parent=self.win,
                           options=load_options(self.win.settings))
        if dlg.exec():
            save_options(self.win.settings, dlg.options())
            self.batch_export(dlg.options())

    def ask_overwrite(self, existing: list[Path]) -> str:
        """Ask before replacing files: -> "replace", "keep" (both: new names) or "cancel"."""
        box = QMessageBox(QMessageBox.Icon.Question, "Replace existing files?", "",
                          parent=self.win)
        box.setObjectName("overwrite-question")
        names = ", ".join(p.name for p in existing[:3]) + (
            f" and {len(existing) - 3} more" if len(existing) > 3 else "")
        one = len(existing) == 1
        box.setText(f"{names} already exist{'s' if one else ''} in {existing[0].parent}.")
        box.setInformativeText(f"Replace {'it' if one else 'them'}, or keep "
                               f"{'it' if one else 'them'} and save the new export under "
                               "new names?")
        replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep both", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        clicked = box.clickedButton()
        return "replace" if clicked is replace else "keep" if clicked is keep else "cancel"

    # ----- items -----
    def item(self, doc: Document, dst: Path, opts: ExportOptions) -> ExportItem:
        model_id = self.win.model_id
        assert model_id is not None
        compare = compare_path(dst) if opts.compare else None
        # Exports take hints in the original photo's coordinates (as doc.hints and sidecars
        # are) and map them through the steps themselves; None: the engine reads the sidecar
        # (hints, strength and reference alike).
        hints = doc.hints if doc.loaded else None
        return ExportItem(doc.path, dst, model_id, hints, doc.steps, opts.quality, opts.depth,
                          compare, opts.compression, doc.current_result(model_id),
                          strength=doc.strength if doc.loaded else None,
                          reference=doc.reference if doc.loaded else None)

    def export_current(self, opts: ExportOptions) -> int | None:
        win = self.win
        doc = win.current
        if doc is None or win.model_id is None:
            return None
        dst = opts.target or default_output(doc.path, opts.ext)
        if dst.suffix.lower() != opts.ext:
            dst = dst.with_suffix(opts.ext)
        if dst.resolve() == doc.path.resolve():
            win.banner.show_message(f"{dst.name}: that is the original; ColorStudio never "
                                    "overwrites originals. Choose another name.", "error")
            return None
        source = doc.path.resolve()

        def taken(p: Path) -> bool:
            return any(q.exists() or q.resolve() == source
                       for q in (p, *([compare_path(p)] if opts.compare else [])))

        if taken(dst):
            existing = [q for q in (dst, compare_path(dst) if opts.compare else None)
                        if q is not None and q.exists()]
            answer = self.ask_overwrite(existing) if existing else "keep"
            if answer == "cancel":
                win.statusBar().showMessage("Export cancelled: nothing was replaced.", 5000)
                return None
            if answer == "keep" or not existing:
                dst = numbered(dst, taken)
        return self._start([self.item(doc, dst, opts)])

    def plan_batch(self, opts: ExportOptions, keep_existing: bool = False
                   ) -> tuple[list[tuple[Document, Path]], list[str]]:
        """Every photo's output in `opts.target` (or beside it): no two photos share one
        (a.png and a.jpg), none is a photo of the batch; with `keep_existing`, files on disk
        are not reused either. -> ([(doc, dst)], notes on renamed outputs)."""
        docs = self.win.docs
        sources = {d.path.resolve() for d in docs}
        claimed: set[Path] = set()
        plan: list[tuple[Document, Path]] = []
        notes: list[str] = []

        def outputs(p: Path) -> list[Path]:
            return [p, compare_path(p)] if opts.compare else [p]

        def taken(p: Path) -> bool:
            return any(q.resolve() in claimed or q.resolve() in sources
                       or (keep_existing and q.exists()) for q in outputs(p))

        owner: dict[Path, Document] = {}  # the first photo with that default output name
        for d in docs:
            owner.setdefault(default_output(d.path, opts.ext, opts.target).resolve(), d)
        for d in docs:
            first = default_output(d.path, opts.ext, opts.target)
            other = owner[first.resolve()]
            dst = free_output(d.path, opts.ext, opts.target, taken,
                              lambda p, d=d: owner.get(p.resolve(), d) is not d)
            if other is not d:
                notes.append(f"{d.name} -> {dst.name} ({first.name} is {other.name}'s)")
            claimed.update(q.resolve() for q in outputs(dst))
            plan.append((d, dst))
        return plan, notes

    def batch_export(self, opts: ExportOptions) -> int | None:
        win = self.win
        if not win.docs or win.model_id is None:
            return None
        plan, notes = self.plan_batch(opts)
        existing = [q for _, dst in plan
                    for q in ([dst, compare_path(dst)] if opts.compare else [dst]) if q.exists()]
        if existing:
            answer = self.ask_overwrite(existing)
            if answer == "cancel":
                win.statusBar().showMessage("Export cancelled: nothing was replaced.", 5000)
                return None
            if answer == "keep":
                plan, notes = self.plan_batch(opts, keep_existing=True)
        if notes:
            win.banner.show_message("Some photos would have written the same file, so "
                                    "they get their own names: " + "; ".join(notes[:3])
                                    + (" …" if len(notes) > 3 else ""), "info")
        return self._start([self.item(d, dst, opts) for d, dst in plan])

    def _start(self, items: list[ExportItem]) -> int:
        jid = self.win.engine.export(items)
        self.win.jobs.add(jid, JobKind.EXPORT)
        self.win.show_progress(0.0, f"Exporting {len(items)} photo(s)…")
        return jid

    def exported(self, summary: ExportSummary) -> None:
        win = self.win
        if summary.failed:
            win.banner.show_message(f"{len(summary.failed)} export(s) failed: "
                                    + "; ".join(summary.failed[:3]), "error")
        else:
            where = summary.written[0].parent if summary.written else ""
            win.statusBar().showMessage(f"Exported {len(summary.written)} file(s) to {where}",
                                        8000)
        win.exportDone.emit(summary)
