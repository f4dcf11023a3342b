"""`colorstudio --self-test`: check an installation without a display, then exit 0 or 1.

Run after installing a package (the installer's checks and support requests use it). It
loads every bundled model (or every model in `--models-dir`), verifies each weights file's
sha256 against its card, colourises the bundled sample photo with each model (a synthetic
grey image when the sample is missing), writes one TIFF and one JPEG through the full
archival path (metadata, ICC, compression codecs), starts Qt offscreen and renders an
icon from the bundled icon fonts, and checks that every per-user folder (settings, user
models, logs) lies outside the installation. A summary is printed and also written to
`<user log dir>/self-test.log`.

The checks that need torch or Qt import them inside the check, so a missing library in a
broken installation is reported as a failed line instead of a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__

log = logging.getLogger(__name__)

APP_NAME = "ColorStudio"
SAMPLE_NAME = "sample_coffee_grey.png"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"  [{mark}] {self.name:<40} {self.detail} ({self.seconds:.1f} s)"


# --------------------------------------------------------------------------- locations

def install_root() -> Path:
    """Where the running program's files lie: the PyInstaller bundle, or the source tree."""
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)).resolve()
    return Path(__file__).resolve().parent.parent.parent


def user_dirs() -> dict[str, Path]:
    """Per-user folders (platformdirs) for everything ColorStudio writes on a user's behalf.

    Settings go through QSettings("ColorStudio", "ColorStudio"), which on Linux is
    `~/.config/ColorStudio/ColorStudio.conf`, on Windows the registry (HKCU) and on macOS
    `~/Library/Preferences`; the folder shown here is platformdirs' config folder, the same
    place on Linux.
    """
    from platformdirs import user_config_dir, user_log_dir

    from ..core.cards import user_models_dir

    return {
        "settings": Path(user_config_dir(APP_NAME, appauthor=False)),
        "user models": user_models_dir(),
        "logs": Path(user_log_dir(APP_NAME, appauthor=False)),
    }


def qsettings_file() -> Path | None:
    """The file QSettings writes the GUI's settings to (None where it is the registry)."""
    from PySide6.QtCore import QSettings

    if sys.platform == "win32":  # the registry: HKEY_CURRENT_USER\Software\ColorStudio
        return None
    return Path(QSettings(APP_NAME, APP_NAME).fileName())


def is_inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def sample_image() -> tuple[np.ndarray, str]:
    """-> (L* (H, W) float32 in [0, 100], description): the bundled sample, else synthetic."""
    from ..app import resources_dir
    from ..core.imageio import read_image

    p = resources_dir() / SAMPLE_NAME
    if p.is_file():
        img = read_image(p)
        return img.l_star, f"{p.name} {img.l_star.shape[1]}x{img.l_star.shape[0]}"
    # A smooth grey scene with an edge: enough structure for every architecture to run.
    yy, xx = np.mgrid[0:240, 0:320].astype(np.float32)
    l_star = 20 + 60 * (xx / 319) + 15 * np.sin(yy / 17)
    l_star[80:160, 100:220] += 10
    return np.clip(l_star, 0, 100).astype(np.float32), "synthetic grey 320x240 (no sample found)"


# --------------------------------------------------------------------------- checks

class SelfTest:
    def __init__(self, models_dirs: list[Path] | None, out: Callable[[str], None] = print
                 ) -> None:
        self.models_dirs = models_dirs
        self.out = out
        self.checks: list[Check] = []
        self.lines: list[str] = []

    def say(self, text: str) -> None:
        self.lines.append(text)
        self.out(text)

    def check(self, name: str, fn: Callable[[], str]) -> bool:
        t0 = time.perf_counter()
        try:
            detail, ok = fn(), True
        except Exception as exc:
            log.debug("self-test check %s failed", name, exc_info=True)
            detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            ok = False
            if log.isEnabledFor(logging.DEBUG):
                traceback.print_exc()
        c = Check(name, ok, detail, time.perf_counter() - t0)
        self.checks.append(c)
        self.say(c.line())
        return ok

    # each check returns its one-line detail or raises -------------------------------

    def _runtime(self) -> str:
        import torch

        from ..engine.device import describe, pick_device

        self.device = pick_device("auto")
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU build"
        return (f"torch {torch.__version__} ({build}), numpy {np.__version__}, "
                f"device {describe(self.device)}")

    def _cards(self) -> str:
        from ..core.cards import bundled_models_dir, discover_cards

        dirs = self.models_dirs if self.models_dirs is not None else [bundled_models_dir()]
        self.cards = discover_cards(dirs)
        if not self.cards:
            raise RuntimeError(f"no model cards in {', '.join(str(d) for d in dirs)}")
        return f"{len(self.cards)} in {', '.join(str(d) for d in dirs)}"

    def _verify(self, card) -> str:
        if not card.has_weights:
            raise RuntimeError(f"weights file missing: {card.weights or '(none listed)'}")
        if not card.verify():
            raise RuntimeError(f"sha256 of {card.weights} does not match the card")
        return f"sha256 {card.sha256[:12]}... {card.bytes / 1e6:.1f} MB"

    def _colorize(self, store, card, l_star: np.ndarray) -> str:
        from ..core.color import lab_to_rgb
        from ..core.hints import HintPoint, HintSet
        from ..engine.pipeline import colorize_l

        model = store.load(card.id, self.device, verify=False)  # verified just above
        # Hint models also run the hint path (the network's hint input and the sparse solve).
        h, w = l_star.shape
        hints = HintSet(points=(HintPoint(w * 0.3, h * 0.4, 3, (40, 90, 200)),
                                HintPoint(w * 0.7, h * 0.6, 3, (200, 150, 40))))
        res = colorize_l(model, l_star, hints if card.hints else None)
        if res.ab.shape != (*l_star.shape, 2) or not np.isfinite(res.ab).all():
            raise RuntimeError(f"bad chroma output {res.ab.shape}")
        rgb = lab_to_rgb(np.dstack([l_star, res.ab]))
        if not np.isfinite(rgb).all():
            raise RuntimeError("non-finite RGB output")
        chroma = float(np.hypot(res.ab[..., 0], res.ab[..., 1]).mean())
        nw, nh = res.working_size
        with_hints = ", 2 hints" if card.hints else ""
        return (f"{card.arch}, {card.params / 1e6:.2f} M params, net {nw}x{nh}{with_hints}, "
                f"mean chroma {chroma:.1f}")

    def _archival(self, default_id: str) -> str:
        from ..app import resources_dir
        from ..core.imageio import read_image, write_image
        from ..engine.batch import Colorizer
        from ..engine.models import ModelStore

        with tempfile.TemporaryDirectory(prefix="colorstudio-selftest-") as tmp:
            src = resources_dir() / SAMPLE_NAME
            if not src.is_file():
                src = Path(tmp) / "grey.png"
                l_star, _ = sample_image()
                grey = np.repeat((l_star / 100)[..., None], 3, axis=2)
                write_image(src, grey, np.uint8)
            colorizer = Colorizer(ModelStore(self.models_dirs if self.models_dirs is not None
                                             else [self._bundled()]), "auto")
            written = []
            for ext in (".tif", ".jpg"):
                dst = Path(tmp) / f"out{ext}"
                outcome = colorizer.colorize_file(src, dst, default_id,
                                                  compression="lzw" if ext == ".tif"
                                                  else "deflate")
                if outcome.status == "failed":
                    raise RuntimeError(outcome.error)
                back = read_image(dst)
                written.append(f"{ext[1:].upper()} {back.size[0]}x{back.size[1]} "
                               f"{dst.stat().st_size // 1024} KiB")
        return ", ".join(written) + f" with {default_id}"

    @staticmethod
    def _bundled() -> Path:
        from ..core.cards import bundled_models_dir

        return bundled_models_dir()

    def _qt(self) -> str:
        # Headless: never open a window here, whatever DISPLAY says.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([sys.argv[0], "-platform",
                                                      os.environ["QT_QPA_PLATFORM"]])
        import qtawesome as qta

        pix = qta.icon("fa5s.palette").pixmap(32, 32)
        img = pix.toImage()
        if pix.isNull() or all(img.pixelColor(x, y).alpha() == 0
                               for x in range(32) for y in range(32)):
            raise RuntimeError("the icon font rendered nothing")
        from PySide6 import __version__ as pyside_version

        return f"PySide6 {pyside_version}, platform '{app.platformName()}', icon fonts ok"

    def _user_dirs(self) -> str:
        root = install_root()
        dirs = user_dirs()
        try:
            qfile = qsettings_file()
        except ImportError:
            qfile = None
        if qfile is not None:
            dirs["settings file"] = qfile
        inside = [f"{k} ({p})" for k, p in dirs.items() if is_inside(p, root)]
        if getattr(sys, "frozen", False) and inside:
            raise RuntimeError("inside the installation: " + ", ".join(inside))
        return "; ".join(f"{k}: {p}" for k, p in dirs.items())

    # -------------------------------------------------------------------------------

    def run(self) -> int:
        t0 = time.perf_counter()
        frozen = "installed package" if getattr(sys, "frozen", False) else "source tree"
        self.say(f"ColorStudio {__version__} self-test ({frozen}: {install_root()})")
        self.say(f"  Python {platform.python_version()} on {platform.platform()}")
        self.cards = {}
        if self.check("runtime", self._runtime) and self.check("model cards", self._cards):
            from ..engine.models import ModelStore

            store = ModelStore(list(self.models_dirs) if self.models_dirs is not None
                               else [self._bundled()])
            l_star, what = sample_image()
            self.say(f"  sample: {what}")
            for card in self.cards.values():
                if self.check(f"{card.id}: weights", lambda c=card: self._verify(c)):
                    self.check(f"{card.id}: colourise",
                               lambda c=card: self._colorize(store, c, l_star))
            from ..core.cards import default_model_id

            default = default_model_id(self.cards)
            if default is not None and self.cards[default].has_weights:
                self.check("archival output (TIFF, JPEG)", lambda: self._archival(default))
        self.check("Qt offscreen + icon fonts", self._qt)
        self.check("per-user folders", self._user_dirs)
        failed = [c for c in self.checks if not c.ok]
        verdict = (f"self-test passed: {len(self.checks)} checks" if not failed else
                   f"self-test FAILED: {len(failed)} of {len(self.checks)} checks failed")
        self.say(f"{verdict} in {time.perf_counter() - t0:.1f} s")
        self._write_log()
        return 0 if not failed else 1

    def _write_log(self) -> None:
        try:
            logs = user_dirs()["logs"]
            logs.mkdir(parents=True, exist_ok=True)
            (logs / "self-test.log").write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        except OSError as exc:  # a read-only home must not turn a passing test into a failure
            log.warning("cannot write the self-test log: %s", exc)


def run(args: argparse.Namespace) -> int:
    return SelfTest(getattr(args, "models_dir", None)).run()
