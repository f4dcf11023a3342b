"""Layering, checked two ways so it keeps holding as the code grows:

* statically (ast over every file present), for every layer, imports anywhere in a file (even
  inside a function) count:

      core  <-  nets  <-  engine  <-  train  <-  commands / app  <-  cli
        ^                                           |
        +----------------  ui  <--------------------+   (app injects the engine into ui)

  a layer imports only the layers to its left (`LAYERS`); `ui/` stands beside `engine/` and
  never imports torch, `nets`, `engine` or `train` (the composition root `colorstudio/app.py`
  injects engine services, typed by `core.jobs.EngineAPI`); `core/` and `nets/` never import
  Qt, and in `engine/` and `train/` only their `service.py` (the Qt wrappers) do;
* at runtime (fresh interpreters): importing every `colorstudio.core` module leaves torch and
  PySide6 out of `sys.modules`; importing every `colorstudio.ui` module leaves torch out.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import colorstudio

PKG = Path(colorstudio.__file__).resolve().parent
QT = ("PySide6", "PyQt5", "PyQt6", "PySide2", "shiboken6", "qtawesome", "qtpy", "pytestqt")
TORCH = ("torch", "torchvision", "safetensors.torch")
HIGHER_THAN_CORE = ("colorstudio.nets", "colorstudio.engine", "colorstudio.train",
                    "colorstudio.ui", "colorstudio.app", "colorstudio.commands",
                    "colorstudio.cli")
HIGHER_THAN_UI = ("colorstudio.nets", "colorstudio.engine", "colorstudio.train")


def _modules(sub: str) -> list[Path]:
    return sorted((PKG / sub).rglob("*.py"))


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, mod: str | None = None) -> list[tuple[str, int, bool]]:
    """-> (imported module, line, at module level?) for every import in the file; relative
    imports are resolved; `if TYPE_CHECKING:` blocks are skipped (they never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    mod = mod or _module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit_stmt(other, top)
                continue
            visit_stmt(child, top)

    def visit_stmt(child: ast.AST, top: bool) -> None:
        if isinstance(child, ast.Import):
            found.extend((a.name, child.lineno, top) for a in child.names)
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                base = package.split(".")
                base = base[: len(base) - child.level + 1]
                target = ".".join(base + ([child.module] if child.module else []))
            else:
                target = child.module or ""
            found.append((target, child.lineno, top))
            found.extend((f"{target}.{a.name}", child.lineno, top) for a in child.names)
        elif isinstance(child, ast.Call) and ast.unparse(child.func) in (
                "importlib.import_module", "__import__", "import_module"):
            if child.args and isinstance(child.args[0], ast.Constant):
                found.append((str(child.args[0].value), child.lineno, top))
        inner_top = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                   ast.Lambda))
        visit(child, inner_top)

    visit(tree, True)
    return found


def _hits(name: str, banned: tuple[str, ...]) -> bool:
    return any(name == b or name.startswith(b + ".") for b in banned)


def test_the_scanner_sees_every_kind_of_import(tmp_path: Path):
    probe = tmp_path / "probe.py"
    src = ("from typing import TYPE_CHECKING\nimport torch.nn as nn\nfrom ..engine import batch\n"
           "from .. import nets\nif TYPE_CHECKING:\n    from ..train import fit\n"
           "def f():\n    import PySide6\n    from ..engine.models import ModelStore\n")
    probe.write_text(src)
    found = {(n, top) for n, _, top in _imports(probe, "colorstudio.ui.probe")}
    assert ("torch.nn", True) in found
    assert ("colorstudio.engine", True) in found and ("colorstudio.nets", True) in found
    assert ("PySide6", False) in found and ("colorstudio.engine.models", False) in found
    assert not any(n.startswith("colorstudio.train") for n, _ in found)


def test_core_never_imports_torch_qt_or_a_higher_layer():
    files = _modules("core")
    assert len(files) >= 8  # color, imageio, hints, cards, compose, metrics, errors, __init__
    bad = [f"{p.relative_to(PKG.parent)}:{line} imports {name}"
           for p in files for name, line, _ in _imports(p)
           if _hits(name, TORCH + QT + HIGHER_THAN_CORE)]
    assert not bad, "\n".join(bad)


def test_ui_never_imports_torch_nor_the_engine_at_module_level():
    files = _modules("ui")
    assert files  # at least the package itself
    bad = [f"{p.relative_to(PKG.parent)}:{line} imports {name}"
           for p in files for name, line, top in _imports(p)
           if _hits(name, TORCH) or (top and _hits(name, HIGHER_THAN_UI))]
    assert not bad, "\n".join(bad)


def _run_isolated(code: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=300, cwd=PKG.parent)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


_IMPORT_ALL = """
import importlib, json, sys
names = {names!r}
failed = {{}}
for n in names:
    try:
        importlib.import_module(n)
    except Exception as exc:  # reported, not hidden
        failed[n] = repr(exc)
print(json.dumps({{"loaded": sorted(m for m in sys.modules
                                    if m.split('.')[0] in ('torch', 'PySide6', 'shiboken6')
                                    and '.' not in m),
                  "failed": failed}}))
"""


def test_importing_core_leaves_torch_and_qt_unloaded():
    names = [_module_name(p) for p in _modules("core")]
    out = _run_isolated(_IMPORT_ALL.format(names=names))
    assert out["failed"] == {}
    assert out["loaded"] == [], f"importing colorstudio.core loaded {out['loaded']}"


def test_importing_ui_leaves_torch_unloaded():
    names = [_module_name(p) for p in _modules("ui")]
    out = _run_isolated(_IMPORT_ALL.format(names=names))
    assert out["failed"] == {}
    assert "torch" not in out["loaded"], "importing colorstudio.ui loaded torch"


@pytest.mark.parametrize("sub", ["core", "nets", "engine", "train", "commands", "ui"])
def test_layer_folders_exist(sub):
    assert (PKG / sub / "__init__.py").is_file()


# What each layer may import of the package (besides itself and `colorstudio.__version__`).
LAYERS: dict[str, set[str]] = {
    "core": set(),
    "nets": {"core"},
    "engine": {"core", "nets"},
    "train": {"core", "nets", "engine"},
    "ui": {"core"},
    "commands": {"core", "nets", "engine", "train", "app"},
    "app": {"core", "nets", "engine", "train", "ui"},
    "cli": {"core", "nets", "engine", "train", "commands", "app", "ui"},
    "platform_check": set(),
}
# Qt only in the layers that are Qt (ui, app, the gui command) and the two Qt service wrappers.
QT_ALLOWED = {"ui", "app", "platform_check", "commands/selftest.py", "engine/service.py",
              "train/service.py"}


def _layer_of(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _package_files() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts
                  and p != PKG / "__init__.py" and p != PKG / "__main__.py")


def _violations(files: list[Path], posing_as: str | None = None) -> list[str]:
    """Contract breaches in `files` (`posing_as`: one file read as if it were that module
    path below the package, e.g. "engine/probe.py")."""
    bad = []
    for p in files:
        rel = posing_as or p.relative_to(PKG).as_posix()
        layer = _layer_of(PKG / rel)
        allowed = LAYERS[layer] | {layer}
        mod = "colorstudio." + rel.removesuffix(".py").replace("/", ".")
        for name, line, _ in _imports(p, mod):
            parts = name.split(".")
            if parts[0] == "colorstudio" and len(parts) > 1 and parts[1] != "__version__":
                if parts[1] not in allowed:
                    bad.append(f"{rel}:{line} ({layer}) imports {name}")
            if _hits(name, QT) and layer not in QT_ALLOWED and rel not in QT_ALLOWED:
                bad.append(f"{rel}:{line} ({layer}) imports Qt ({name})")
            if layer == "ui" and _hits(name, TORCH):
                bad.append(f"{rel}:{line} (ui) imports torch ({name})")
    return bad


def test_every_file_belongs_to_a_layer():
    unknown = sorted({_layer_of(p) for p in _package_files()} - set(LAYERS))
    assert not unknown, f"files outside every layer: {unknown} (add them to LAYERS)"


def test_every_layer_imports_only_the_layers_below_it():
    bad = _violations(_package_files())
    assert not bad, "\n".join(bad)


def test_the_layer_check_catches_an_engine_importing_train(tmp_path: Path):
    """The violation this check first caught: engine/tiny.py imported train.config and
    train.export (a lazy cycle engine -> train -> engine), now engine/model_files.py."""
    probe = tmp_path / "probe.py"
    probe.write_text("import torch\ndef f():\n    from ..train.export import write_model\n")
    bad = _violations([probe], posing_as="engine/probe.py")
    assert bad == ["engine/probe.py:3 (engine) imports colorstudio.train.export",
                   "engine/probe.py:3 (engine) imports colorstudio.train.export.write_model"]
    ui = tmp_path / "ui_probe.py"
    ui.write_text("def f():\n    import torch\n    from ..engine import service\n")
    assert _violations([ui], posing_as="ui/probe.py") == [
        "ui/probe.py:2 (ui) imports torch (torch)",
        "ui/probe.py:3 (ui) imports colorstudio.engine",
        "ui/probe.py:3 (ui) imports colorstudio.engine.service"]


def test_ui_never_imports_the_engine_anywhere():
    bad = [f"{p.relative_to(PKG.parent)}:{line} imports {name}"
           for p in _modules("ui") for name, line, _ in _imports(p)
           if _hits(name, HIGHER_THAN_UI)]
    assert not bad, "\n".join(bad)


def test_importing_nets_and_engine_leaves_qt_unloaded():
    names = [_module_name(p) for p in _modules("nets") + _modules("engine")
             if p.name != "service.py"]
    out = _run_isolated(_IMPORT_ALL.format(names=names))
    assert out["failed"] == {}
    assert "PySide6" not in out["loaded"], "importing nets/engine loaded Qt"
