"""Issue 13, point 8: the first run starts. `make run` checks for the system libraries Qt's
xcb platform plugin loads and prints the one `apt-get install` line that fixes a missing one;
the .deb lists the same packages in `Depends:`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from colorstudio import platform_check
from colorstudio.platform_check import QT_XCB_PACKAGES, check

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "installer"))

import linux_package  # noqa: E402

EXPECTED = ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxcb-image0",
            "libxcb-render-util0", "libxcb-xkb1", "libxkbcommon-x11-0", "libegl1")


def fake_loader(*missing: str):
    """A library lookup that finds everything but the named sonames."""
    return lambda soname: soname not in missing


def test_the_checked_packages_are_the_ones_qt_needs() -> None:
    assert set(QT_XCB_PACKAGES) == set(EXPECTED)


def test_missing_libraries_give_one_apt_get_line() -> None:
    ok, text = check(fake_loader("libxcb-cursor.so.0", "libEGL.so.1"), "linux", {})
    assert not ok
    lines = [ln.strip() for ln in text.splitlines() if "apt-get" in ln]
    assert lines == ["sudo apt-get install libxcb-cursor0 libegl1"]
    assert "xcb" in text and "make run" in text
    for present in set(EXPECTED) - {"libxcb-cursor0", "libegl1"}:
        assert present not in text  # only what is missing


def test_every_library_missing_names_every_package() -> None:
    ok, text = check(lambda _soname: False, "linux", {"DISPLAY": ":0"})
    assert not ok
    line = next(ln.strip() for ln in text.splitlines() if "apt-get" in ln)
    assert line == "sudo apt-get install " + " ".join(QT_XCB_PACKAGES)
    assert set(line.split()[3:]) == set(EXPECTED)


def test_nothing_missing_or_no_xcb_needed_says_nothing() -> None:
    none_found = fake_loader(*platform_check.QT_XCB_LIBRARIES)
    assert check(fake_loader(), "linux", {}) == (True, "")
    assert check(none_found, "linux", {"QT_QPA_PLATFORM": "offscreen"}) == (True, "")
    assert check(none_found, "darwin", {}) == (True, "")
    assert check(none_found, "win32", {}) == (True, "")
    assert not check(none_found, "linux", {"QT_QPA_PLATFORM": "xcb"})[0]


def test_main_exits_1_with_the_message_on_stderr(monkeypatch, capsys) -> None:
    """What `make run` prints when the X11 keyboard library is missing."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the check runs on Linux only")
    monkeypatch.setattr(platform_check, "library_present", fake_loader("libxcb-xkb.so.1"))
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert platform_check.main() == 1
    out, err = capsys.readouterr()
    assert out == "" and "sudo apt-get install libxcb-xkb1\n" in err


def test_the_real_lookup_finds_a_library_and_misses_a_fake_one() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux sonames")
    assert platform_check.library_present("libc.so.6")
    assert not platform_check.library_present("libcolorstudio-no-such-library.so.0")


def test_make_run_checks_before_starting_the_gui() -> None:
    if not shutil.which("make"):
        pytest.skip("make not installed")
    # -n prints the commands without running them (the install steps too, if due).
    res = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    check_at = next(i for i, ln in enumerate(lines) if "-m colorstudio.platform_check" in ln)
    gui_at = next(i for i, ln in enumerate(lines) if ln.rstrip().endswith("colorstudio gui"))
    assert check_at < gui_at


def test_the_check_runs_as_make_runs_it() -> None:
    """The command `make run` uses, in a fresh interpreter: its exit code and message are the
    check's (0 and silence where the libraries are installed), and it imports neither Qt nor
    torch."""
    code = ("import runpy, sys; runpy.run_module('colorstudio.platform_check', "
            "run_name='__main__')")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin", "DISPLAY": ":0"})
    ok, text = check(env={"DISPLAY": ":0"})  # the same lookup, without the tests' offscreen
    assert res.returncode == (0 if ok else 1) and res.stderr.strip() == text.strip()
    probe = subprocess.run([sys.executable, "-c", "import sys, colorstudio.platform_check; "
                            "print(any(m.split('.')[0] in ('torch', 'PySide6') "
                            "for m in sys.modules))"], capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "False"


def test_deb_depends_on_the_xcb_libraries(tmp_path: Path) -> None:
    """Even when the build machine's ldd cannot resolve the plugin (here: a stand-in file),
    the package's Depends: names every library the xcb plugin needs."""
    if not shutil.which("dpkg-deb"):
        pytest.skip("dpkg-deb not available")
    bundle = tmp_path / "bundle"
    plugin = bundle / "_internal/PySide6/Qt/plugins/platforms/libqxcb.so"
    plugin.parent.mkdir(parents=True)
    plugin.write_bytes(b"\x7fELF" + b"\0" * 60)  # an ELF header ldd cannot load
    (bundle / "colorstudio").write_text("#!/bin/sh\necho stand-in\n")
    (bundle / "colorstudio").chmod(0o755)
    depends, _recommends, _unknown = linux_package.system_dependencies(bundle)
    assert set(EXPECTED) <= set(depends)
    deb = linux_package.build_deb(bundle, tmp_path / "dist", "0.1.0", tmp_path / "work",
                                  log=lambda _m: None)
    field = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True,
                           text=True, check=True).stdout
    packages = {p.strip().split(" ")[0] for p in field.split(",")}
    assert set(EXPECTED) <= packages
