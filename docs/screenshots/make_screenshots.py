"""Regenerate the app screenshots in this folder from real windows (widget.grab()).

    QT_QPA_PLATFORM=offscreen python docs/screenshots/make_screenshots.py [--models-dir DIR]

Without --models-dir the bundled and user models are used (the default model must have
weights). Hints are added through the same path as the mouse tools (undoable edits).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from colorstudio.app import build_window, make_settings, sample_photo  # noqa: E402
from colorstudio.core.hints import HintPoint, HintSet, HintStroke  # noqa: E402
from colorstudio.ui.theme import apply_theme  # noqa: E402

HERE = Path(__file__).resolve().parent


def wait_for(signal, timeout_ms: int = 300_000) -> None:  # noqa: ANN001
    loop = QEventLoop()
    signal.connect(lambda *_: loop.quit())
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def settle(ms: int = 300) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models-dir", action="append", type=Path)
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--photo", type=Path, default=sample_photo())
    ap.add_argument("--dark", action="store_true", help="dark theme")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, dark=args.dark)
    tmp = tempfile.TemporaryDirectory()
    # Hints go to the photo's sidecar: work on a copy so the bundled sample stays clean.
    photo = Path(tmp.name) / args.photo.name
    photo.write_bytes(args.photo.read_bytes())
    window, services = build_window(args.models_dir, make_settings(Path(tmp.name) / "s.ini"))
    window.resize(1440, 900)
    window.show()
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "_dark" if args.dark else ""

    window.grab().save(str(args.out / f"welcome{suffix}.png"))
    window.open_paths([photo])
    wait_for(window.resultShown)
    doc = window.current
    w, h = doc.space_size()
    hints = HintSet(
        (HintPoint(w * 0.47, h * 0.17, 3, (196, 120, 60)),
         HintPoint(w * 0.62, h * 0.55, 3, (170, 170, 185))),
        (HintStroke(((w * 0.08, h * 0.15), (w * 0.2, h * 0.08), (w * 0.33, h * 0.05)), 14,
                    (150, 100, 60)),
         HintStroke(((w * 0.85, h * 0.7), (w * 0.92, h * 0.85), (w * 0.8, h * 0.95)), 14,
                    (120, 80, 50)),
         HintStroke(((w * 0.32, h * 0.62), (w * 0.45, h * 0.72)), 10, (60, 90, 160))))
    window.set_colour((196, 120, 60))
    window.hints._hints_edited(hints, "Screenshot hints")  # the canvas tools' own entry point
    window.colourise()
    wait_for(window.resultShown)
    window.canvas.divider = 0.42
    window.hints._hovered(w * 0.55, h * 0.5)  # as if the cursor rested on the cup
    window.hints._update_suggestions()
    settle()
    window.grab().save(str(args.out / f"main_split_hints{suffix}.png"))

    window.set_mode("side")
    settle()
    window.grab().save(str(args.out / f"main_side_by_side{suffix}.png"))
    window.set_mode("split")

    window.pre_dock.raise_()
    window.preprocess.angle.setValue(-2.5)
    window.preprocess.equalise.setCurrentIndex(2)
    window.preprocess.brightness.setValue(5)
    wait_for(window.resultShown)
    settle()
    window.grab().save(str(args.out / f"main_preprocessing{suffix}.png"))

    manager = window.open_model_manager()
    manager.resize(980, 600)
    settle()
    manager.grab().save(str(args.out / f"model_manager{suffix}.png"))
    manager.close()
    window.close()
    services.shutdown()
    tmp.cleanup()
    print(f"screenshots written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
