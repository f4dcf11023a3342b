"""Build the ColorStudio installer for this platform (`make installer`).

    python installer/build.py [--models DIR] [--dist DIR] [--skip-freeze]

1. stages the bundled models: every card in `--models` (default: models/) whose weights
   exist, match its sha256 and load into the architecture being packaged; the others are
   named and left out;
2. runs PyInstaller on installer/colorstudio.spec (a one-folder build, build/pyinstaller/);
3. on Linux, wraps the folder into `dist/colorstudio_<version>_<arch>.deb` with dpkg-deb
   (/opt/colorstudio, a /usr/bin/colorstudio launcher, .desktop entry, icons, MIME
   associations, maintainer scripts); on Windows and macOS it prints the next step
   (Inno Setup / the .app bundle, see installer/README.md);
4. prints the durations, the size of the folder and the package, and the largest parts.

`--skip-freeze` reuses the last PyInstaller folder and only replaces its models (new
weights need no new freeze) before packaging.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(INSTALLER))

from linux_package import build_deb, dir_size  # noqa: E402


def say(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def torch_runtime() -> str:
    """Which torch this build bundles (the build venv's), e.g. '2.13.0+cpu (CPU build)'."""
    out = subprocess.run(
        [sys.executable, "-c",
         "import torch; print(torch.__version__, torch.version.cuda or '')"],
        capture_output=True, text=True, check=True).stdout.split()
    version, cuda = out[0], (out[1] if len(out) > 1 else "")
    return f"{version} ({'CUDA ' + cuda if cuda else 'CPU build'})"


def _load_problem(card) -> str | None:  # card: ModelCard
    """Why the card's network cannot be built and loaded with the code being packaged, or
    None (weights saved before an architecture change fail here, not on the user's machine)."""
    import torch

    from colorstudio.core.errors import ModelError
    from colorstudio.engine.models import ModelStore

    store = ModelStore([card.path.parent])
    try:
        store.load(card.id, torch.device("cpu"))
    except ModelError as exc:
        return " ".join(str(exc).split())  # torch's message spans lines
    return None


def stage_models(src: Path, dst: Path) -> list[str]:
    """Copy shippable cards (weights present, sha256 verified) from src to dst; -> their ids."""
    from colorstudio.core.cards import load_card
    from colorstudio.core.errors import ModelError

    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    shipped = []
    for card_path in sorted(src.glob("*.toml")) if src.is_dir() else []:
        try:
            card = load_card(card_path)
        except ModelError as exc:
            say(f"warning: {card_path.name} left out: {exc}")
            continue
        if not card.has_weights:
            say(f"warning: {card.id} left out: no weights ({card.weights or 'none listed'})")
            continue
        if not card.verify():
            say(f"warning: {card.id} left out: weights do not match the card's sha256")
            continue
        problem = _load_problem(card)
        if problem:
            say(f"warning: {card.id} left out: {problem}")
            continue
        shutil.copy2(card_path, dst / card_path.name)
        shutil.copy2(card.weights_path, dst / card.weights)  # type: ignore[arg-type]
        shipped.append(card.id)
    return shipped


def freeze(models: Path, work: Path, cuda: bool) -> Path:
    env = dict(os.environ, COLORSTUDIO_BUNDLE_MODELS=str(models),
               COLORSTUDIO_CUDA="1" if cuda else "0")
    if sys.platform == "darwin":
        env["COLORSTUDIO_MACOS_BUNDLE"] = "1"
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
           "--distpath", str(work / "dist"), "--workpath", str(work / "work"),
           str(INSTALLER / "colorstudio.spec")]
    say(" ".join(cmd))
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)
    return work / "dist" / "colorstudio"


def largest_parts(folder: Path, n: int = 8) -> list[tuple[str, int]]:
    sizes: dict[str, int] = {}
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            rel = p.relative_to(folder).parts
            key = "/".join(rel[:3]) if rel[0] == "_internal" else rel[0]
            sizes[key] = sizes.get(key, 0) + p.stat().st_size
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:n]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=Path, default=ROOT / "models",
                    help="folder of model cards + weights to bundle (default: models/)")
    ap.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the package goes")
    ap.add_argument("--work", type=Path, default=ROOT / "build",
                    help="scratch folder (staged models, PyInstaller output, package tree)")
    ap.add_argument("--skip-freeze", action="store_true",
                    help="reuse the last PyInstaller folder (its models are replaced)")
    args = ap.parse_args(argv)

    from colorstudio import __version__

    t0 = time.perf_counter()
    work = args.work.resolve()
    torch_info = torch_runtime()
    say(f"ColorStudio {__version__}; torch {torch_info}; Python {platform.python_version()}")
    staged = work / "bundle-models"
    shipped = stage_models(args.models.resolve(), staged)
    if not shipped:
        say(f"error: no shippable models in {args.models} (cards with verified weights); "
            "the package would fail its self-test")
        return 1
    say(f"bundling {len(shipped)} models: {', '.join(shipped)}")

    folder = work / "pyinstaller" / "dist" / "colorstudio"
    t1 = time.perf_counter()
    if not args.skip_freeze:
        folder = freeze(staged, work / "pyinstaller", cuda="CUDA" in torch_info)
    elif not folder.is_dir():
        say(f"error: --skip-freeze but {folder} does not exist")
        return 1
    else:  # the models are plain data files: bring the frozen folder's set up to date
        bundled = folder / "_internal" / "models"
        shutil.rmtree(bundled, ignore_errors=True)
        shutil.copytree(staged, bundled)
    t_freeze = time.perf_counter() - t1
    say(f"PyInstaller folder: {folder} ({dir_size(folder) / 2**20:.0f} MiB) "
        f"in {t_freeze / 60:.1f} min")
    for name, size in largest_parts(folder):
        say(f"  {size / 2**20:8.1f} MiB  {name}")

    if sys.platform.startswith("linux"):
        t2 = time.perf_counter()
        deb = build_deb(folder, args.dist.resolve(), __version__, work / "deb", log=say)
        say(f"package: {deb} ({deb.stat().st_size / 2**20:.0f} MiB) "
            f"in {(time.perf_counter() - t2) / 60:.1f} min")
        say(f"install: sudo apt-get install {deb}   then: colorstudio --self-test")
    elif sys.platform == "win32":
        say("next: iscc installer\\windows\\colorstudio.iss  (see installer/README.md)")
    elif sys.platform == "darwin":
        say("next: the .app is in build/pyinstaller/dist/ColorStudio.app; make the .dmg with "
            "hdiutil (see installer/README.md)")
    say(f"done in {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
