"""The installer: `colorstudio --self-test`, per-user data folders, packaging metadata, and
(marked slow, `make test-installer`) the real .deb built, installed into a temporary root
and self-tested there.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import plistlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from colorstudio import __version__
from colorstudio.cli import main

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"
sys.path.insert(0, str(INSTALLER))

import bundle_filter  # noqa: E402
import linux_package  # noqa: E402

FAST_ARCHS = ["guided_unet", "mane2021_cnn"]  # one hint model, one plain model


def _load_entry_module():
    spec = importlib.util.spec_from_file_location("colorstudio_main",
                                                  INSTALLER / "colorstudio_main.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Per-user folders (XDG) inside tmp_path, so the tests never write to the real home."""
    home = tmp_path / "home"
    for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                     ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):
        monkeypatch.setenv(var, str(home / sub))
    return home


@pytest.fixture
def two_models(tmp_path: Path) -> Path:
    from colorstudio.engine.tiny import write_tiny_models

    d = tmp_path / "models"
    write_tiny_models(d, FAST_ARCHS)
    return d


# --------------------------------------------------------------------------- self-test

def test_self_test_passes_and_writes_its_log(two_models: Path, user_home: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--models-dir", str(two_models), "--self-test"]) == 0
    out = capsys.readouterr().out
    assert f"ColorStudio {__version__} self-test (source tree" in out
    for arch in FAST_ARCHS:
        assert re.search(rf"\[ok  \] tiny_{arch}: weights +sha256 [0-9a-f]{{12}}", out)
        assert re.search(rf"\[ok  \] tiny_{arch}: colourise +{arch},", out)
    assert "sample: sample_coffee_grey.png 600x400" in out
    assert re.search(r"\[ok  \] archival output \(TIFF, JPEG\) +TIF 600x400 .* JPG 600x400", out)
    assert "platform 'offscreen', icon fonts ok" in out
    assert "FAIL" not in out
    assert re.search(r"self-test passed: 9 checks in [\d.]+ s", out)
    log = user_home / ".local/state/ColorStudio/log/self-test.log"
    assert "self-test passed" in log.read_text()


def test_self_test_fails_on_damaged_weights(two_models: Path, user_home: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    weights = next(two_models.glob("tiny_mane2021_cnn-*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert main(["--models-dir", str(two_models), "--self-test"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"\[FAIL\] tiny_mane2021_cnn: weights +RuntimeError: sha256 of "
                     r"tiny_mane2021_cnn-\w+\.safetensors does not match the card", out)
    assert "tiny_mane2021_cnn: colourise" not in out  # a damaged model is never run
    assert re.search(r"\[ok  \] tiny_guided_unet: colourise", out)
    assert "self-test FAILED: 1 of 8 checks failed" in out


def test_self_test_fails_without_models(tmp_path: Path, user_home: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    assert main(["--models-dir", str(empty), "--self-test"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] model cards" in out and f"no model cards in {empty}" in out
    assert "Traceback" not in out


def test_self_test_synthesises_a_sample_when_none_is_bundled(
        two_models: Path, user_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import colorstudio.app

    bare = tmp_path / "no-resources"
    bare.mkdir()
    monkeypatch.setattr(colorstudio.app, "resources_dir", lambda: bare)
    assert main(["--models-dir", str(two_models), "--self-test"]) == 0
    out = capsys.readouterr().out
    assert "sample: synthetic grey 320x240 (no sample found)" in out
    assert re.search(r"archival output \(TIFF, JPEG\) +TIF 320x240", out)


def test_self_test_is_a_global_flag_that_ignores_the_gui_default() -> None:
    from colorstudio.cli import build_parser

    args = build_parser().parse_args(["--self-test"])
    assert args.self_test and args.command is None


# --------------------------------------------------------------------------- user data

def test_user_data_lives_in_per_user_folders_outside_the_installation(user_home: Path) -> None:
    from colorstudio.app import make_settings
    from colorstudio.commands.selftest import install_root, is_inside, user_dirs
    from colorstudio.core.cards import bundled_models_dir, user_models_dir

    dirs = user_dirs()
    assert dirs["user models"] == user_models_dir() == user_home / ".local/share/ColorStudio/models"
    assert dirs["logs"] == user_home / ".local/state/ColorStudio/log"
    assert dirs["settings"] == user_home / ".config/ColorStudio"
    for p in dirs.values():
        assert not is_inside(p, install_root())
        assert not is_inside(p, bundled_models_dir())
    # The GUI's settings (QSettings) are a per-user file too, not beside the program.
    settings = Path(make_settings().fileName())
    assert not is_inside(settings, install_root())
    assert settings.name == "ColorStudio.conf"


def test_self_test_flags_user_data_inside_a_frozen_installation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from colorstudio.commands.selftest import SelfTest

    bundle = tmp_path / "opt" / "colorstudio" / "_internal"
    bundle.mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(bundle / "data"))  # a broken setup: inside
    lines: list[str] = []
    test = SelfTest([], lines.append)
    assert not test.check("per-user folders", test._user_dirs)
    assert "inside the installation: user models" in lines[-1]
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert test.check("per-user folders", test._user_dirs)


# --------------------------------------------------------------------------- packaging

def test_desktop_entry_is_valid_and_associates_image_types(tmp_path: Path) -> None:
    text = linux_package.desktop_entry()
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    cp.optionxform = str  # keys are case-sensitive
    cp.read_string(text)
    entry = cp["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "ColorStudio"
    assert entry["Exec"] == "/opt/colorstudio/colorstudio gui %F"
    assert entry["Icon"] == "colorstudio" and entry["Terminal"] == "false"
    mimes = entry["MimeType"].rstrip(";").split(";")
    assert {"image/png", "image/jpeg", "image/tiff", "image/webp"} <= set(mimes)
    assert entry["Categories"].endswith(";") and "Graphics" in entry["Categories"]
    validator = shutil.which("desktop-file-validate")
    if validator:
        f = tmp_path / "colorstudio.desktop"
        f.write_text(text)
        r = subprocess.run([validator, str(f)], check=False, capture_output=True, text=True)
        assert r.returncode == 0 and not r.stdout.strip(), r.stdout


def test_control_file_has_the_fields_dpkg_needs() -> None:
    text = linux_package.control_file("0.1.0", "amd64", 1234,
                                      ["libc6 (>= 2.36)", "libgl1"], ["libxkbcommon-x11-0"])
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line.startswith(" "):
            assert key == "Description"  # only the description continues over lines
            assert line == " ." or line[1] != " "
            fields[key] += "\n" + line
            continue
        key, _, value = line.partition(": ")
        assert re.fullmatch(r"[A-Za-z][A-Za-z-]*", key)
        fields[key] = value
    for required in ("Package", "Version", "Architecture", "Maintainer", "Description"):
        assert fields[required]
    assert fields["Package"] == "colorstudio"
    assert re.fullmatch(r"\d+(\.\d+)*-\d+", fields["Version"])
    assert fields["Installed-Size"] == "1234"
    assert fields["Depends"] == "libc6 (>= 2.36), libgl1"
    assert fields["Recommends"] == "libxkbcommon-x11-0"
    assert len(fields["Description"].splitlines()[0]) <= 80


def test_maintainer_scripts_are_valid_and_leave_user_data_alone(tmp_path: Path) -> None:
    for name, script in (("postinst", linux_package.POSTINST),
                         ("postrm", linux_package.POSTRM),
                         ("launcher", linux_package.LAUNCHER)):
        f = tmp_path / name
        f.write_text(script)
        assert subprocess.run(["sh", "-n", str(f)], check=False).returncode == 0, name
        assert script.startswith("#!/bin/sh\n")
        for user_place in ("$HOME", "/home", "/root", ".config", ".local", "~", "XDG"):
            assert user_place not in _code(script), (name, user_place)
    # postrm deletes nothing but empty folders of the installation.
    code = _code(linux_package.POSTRM)
    assert "rm " not in code and "-delete" in code and "-empty" in code
    assert "/opt/colorstudio" in code


def _code(script: str) -> str:
    return "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))


def test_deb_layout_from_a_stand_in_bundle(tmp_path: Path) -> None:
    """The package tree and metadata, built around a stand-in for the PyInstaller folder."""
    if not shutil.which("dpkg-deb"):
        pytest.skip("dpkg-deb not available")
    bundle = tmp_path / "bundle"
    (bundle / "_internal" / "models").mkdir(parents=True)
    (bundle / "colorstudio").write_text("#!/bin/sh\necho stand-in\n")
    (bundle / "colorstudio").chmod(0o755)
    (bundle / "_internal" / "models" / "m.toml").write_text("id = 'm'\n")
    deb = linux_package.build_deb(bundle, tmp_path / "dist", "0.1.0", tmp_path / "work",
                                  log=lambda _m: None)
    assert deb.name == f"colorstudio_0.1.0-1_{linux_package.debian_arch()}.deb"
    info = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True,
                          check=True).stdout
    assert "Package: colorstudio" in info and "Version: 0.1.0-1" in info
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    paths = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    owners = {line.split()[1] for line in listing.splitlines()}
    assert owners == {"root/root"}
    for expected in ("/opt/colorstudio/colorstudio", "/opt/colorstudio/_internal/models/m.toml",
                     "/usr/bin/colorstudio", "/usr/share/applications/colorstudio.desktop",
                     "/usr/share/icons/hicolor/256x256/apps/colorstudio.png",
                     "/usr/share/icons/hicolor/scalable/apps/colorstudio.svg",
                     "/usr/share/doc/colorstudio/copyright"):
        assert expected in paths, expected
    # Everything the package installs lies in its own places: `apt-get remove` takes it all.
    allowed = ("/opt/colorstudio/", "/usr/bin/colorstudio", "/usr/share/applications/",
               "/usr/share/icons/hicolor/", "/usr/share/doc/colorstudio/")
    shared_dirs = {"", "/opt", "/usr", "/usr/bin", "/usr/share", "/usr/share/applications",
                   "/usr/share/doc", "/usr/share/icons"}
    for p in paths:
        assert p.rstrip("/") in shared_dirs or p.startswith(allowed), p
    ctrl = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True,
                          check=True).stdout
    assert "postinst" in ctrl and "postrm" in ctrl and "md5sums" in ctrl
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    assert os.access(root / "usr/bin/colorstudio", os.X_OK)
    assert os.access(root / "opt/colorstudio/colorstudio", os.X_OK)
    assert (root / "usr/bin/colorstudio").read_text() == linux_package.LAUNCHER


def test_build_stages_only_models_that_verify_and_load(two_models: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import build

    cards = sorted(two_models.glob("*.toml"))
    (two_models / "no_weights.toml").write_text(
        cards[0].read_text().replace('id = "tiny_guided_unet"', 'id = "no_weights"')
        .replace('weights = "tiny_guided_unet-', 'weights = "missing-'))
    # A card whose architecture no longer fits its weights (as after a code change).
    mane = two_models / "tiny_mane2021_cnn.toml"
    mane.write_text(re.sub(r"widths = \[[^\]]*\]", "widths = [4, 8, 16]", mane.read_text()))
    shipped = build.stage_models(two_models, tmp_path / "staged")
    out = capsys.readouterr().out
    assert shipped == ["tiny_guided_unet"]
    assert sorted(p.name for p in (tmp_path / "staged").iterdir()) == sorted(
        [p.name for p in two_models.glob("tiny_guided_unet*")])
    assert "no_weights left out: no weights" in out
    assert re.search(r"tiny_mane2021_cnn left out: .*weights do not fit the architecture", out)


def test_bundle_filter_drops_tests_headers_cuda_and_unused_qt() -> None:
    keep = bundle_filter.keep_entry
    for dropped in ("torch/include/ATen/ATen.h", "torch/bin/test_api", "torch/bin/TCPStoreTest",
                    "torch/bin/protoc-3.13.0.0",
                    "torch/lib/libtorchbind_test.so", "torch/test/foo.py",
                    "PySide6/Qt/qml/QtQuick/qmldir", "PySide6/Qt/lib/libQt6Quick.so.6",
                    "PySide6/Qt/plugins/sqldrivers/libqsqlite.so",
                    "nvidia/cudnn/lib/libcudnn.so.9", "torch/lib/libtorch_cuda.so",
                    "qtawesome\\tests\\test_qtawesome.py"):
        assert not keep(dropped), dropped
    for kept in ("torch/lib/libtorch_cpu.so", "torch/bin/torch_shm_manager",
                 "torch/lib/libc10.so", "torch/lib/libgomp.so.1",
                 "PySide6/Qt/plugins/platforms/libqxcb.so",
                 "PySide6/Qt/plugins/platforms/libqoffscreen.so",
                 "PySide6/Qt/plugins/imageformats/libqjpeg.so", "PySide6/Qt/lib/libQt6Svg.so.6",
                 "qtawesome/fonts/fontawesome5-solid-webfont-5.15.4.ttf",
                 "models/guided_unet.toml", "resources/sample_coffee_grey.png"):
        assert keep(kept), kept
    # A CUDA build keeps its CUDA libraries.
    assert keep("nvidia/cudnn/lib/libcudnn.so.9", cuda=True)
    assert keep("torch/lib/libtorch_cuda.so", cuda=True)


def test_excluded_modules_are_not_what_colorstudio_imports() -> None:
    """Every top-level package ColorStudio's sources import survives the excludes."""
    imported = set()
    for py in (ROOT / "colorstudio").rglob("*.py"):
        for m in re.finditer(r"^\s*(?:from|import) ([A-Za-z_][\w.]*)", py.read_text(),
                             re.MULTILINE):
            imported.add(m.group(1))
    for name in imported:
        for excluded in bundle_filter.EXCLUDED_MODULES:
            assert not (name == excluded or name.startswith(excluded + ".")), (name, excluded)


def test_desktop_launchers_open_bare_paths_in_the_gui(tmp_path: Path) -> None:
    from colorstudio.cli import COMMANDS

    mod = _load_entry_module()
    photo = tmp_path / "scan 1.tif"
    photo.write_bytes(b"x")
    assert mod.desktop_argv([str(photo)], COMMANDS) == ["gui", str(photo)]
    assert mod.desktop_argv([], COMMANDS) == []
    assert mod.desktop_argv(["--self-test"], COMMANDS) == ["--self-test"]
    assert mod.desktop_argv(["models"], COMMANDS) == ["models"]
    assert mod.desktop_argv([str(photo), "--screenshot"], COMMANDS)[0] == str(photo)


def test_windows_and_macos_recipes_match_the_spec() -> None:
    spec = (INSTALLER / "colorstudio.spec").read_text()
    assert 'name="ColorStudio"' in spec and 'name="colorstudio"' in spec
    info = plistlib.loads((INSTALLER / "macos" / "Info.plist").read_bytes())
    assert info["CFBundleExecutable"] == "ColorStudio"  # the windowed program of the spec
    assert info["CFBundleIconFile"] == "colorstudio.icns"
    assert (ROOT / "resources" / "icons" / "colorstudio.icns").is_file()
    types = info["CFBundleDocumentTypes"][0]["LSItemContentTypes"]
    assert {"public.png", "public.jpeg", "public.tiff"} <= set(types)
    iss = (INSTALLER / "windows" / "colorstudio.iss").read_text()
    assert r'Source: "{#Root}\build\pyinstaller\dist\colorstudio\*"' in iss
    assert "{autoprograms}\\{#AppName}" in iss  # Start-menu entry
    assert '#define AppExe "ColorStudio.exe"' in iss and '#define CliExe "colorstudio.exe"' in iss
    for ext in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif"):
        assert f"Software\\Classes\\{ext}\\OpenWithProgids" in iss, ext
    assert (ROOT / "resources" / "icons" / "colorstudio.ico").is_file()
    # The uninstaller never deletes the per-user data folders.
    uninstall = iss.split("[UninstallDelete]")[1]
    assert "{localappdata}" not in uninstall and "{userappdata}" not in uninstall


# --------------------------------------------------------------------------- the real package

def _shippable_models(dest: Path) -> Path:
    """models/ when it holds cards with verified weights, else tiny models (said in the log)."""
    from colorstudio.core.cards import discover_cards

    cards = discover_cards([ROOT / "models"])
    if any(c.verify() for c in cards.values()):
        return ROOT / "models"
    from colorstudio.engine.tiny import write_tiny_models

    write_tiny_models(dest)
    print(f"models/ has no trained weights yet: bundling tiny models from {dest}")
    return dest


@pytest.mark.slow
def test_deb_builds_installs_into_a_temporary_root_and_self_tests(tmp_path: Path) -> None:
    """`installer/build.py` builds the .deb; it is unpacked into a temporary root (dpkg-deb
    -x, as dpkg would lay it out) and the installed program runs its self-test and a GUI
    screenshot in a clean environment: no venv, no source tree, an empty home.

    COLORSTUDIO_TEST_DEB=path reuses a package already built (then nothing is built)."""
    prebuilt = os.environ.get("COLORSTUDIO_TEST_DEB")
    if prebuilt:
        deb = Path(prebuilt)
    else:
        models = _shippable_models(tmp_path / "models")
        r = subprocess.run([sys.executable, str(INSTALLER / "build.py"), "--models", str(models),
                            "--dist", str(tmp_path / "dist")], check=False, cwd=ROOT)
        assert r.returncode == 0
        (deb,) = (tmp_path / "dist").glob("colorstudio_*.deb")
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    program = root / "opt/colorstudio/colorstudio"
    assert os.access(program, os.X_OK)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([str(program), "--self-test"], check=False, env=env, cwd=home,
                       capture_output=True,
                       text=True, timeout=1800)
    print(r.stdout, r.stderr)
    assert r.returncode == 0
    assert "self-test (installed package:" in r.stdout
    assert re.search(r"self-test passed: \d+ checks", r.stdout)
    assert "[ok  ] archival output (TIFF, JPEG)" in r.stdout
    assert (home / ".local/state/ColorStudio/log/self-test.log").is_file()
    # Nothing was written inside the installation.
    assert not list((root / "opt/colorstudio").rglob("__pycache__"))
    assert not list((root / "opt/colorstudio").rglob("*.log"))

    sample = root / "opt/colorstudio/_internal/resources/sample_coffee_grey.png"
    shot = tmp_path / "shot.png"
    r = subprocess.run([str(program), "gui", str(sample), "--screenshot", str(shot)], check=False,
                       env=env, cwd=home, capture_output=True, text=True, timeout=1800)
    print(r.stdout, r.stderr)
    assert r.returncode == 0 and shot.stat().st_size > 10_000
