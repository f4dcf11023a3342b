"""Before the first window: are the system libraries that Qt's `xcb` platform plugin loads
installed? PySide6's wheels bring Qt itself but not these; without them the app stops with
"could not load the Qt platform plugin xcb". `make run` calls this before `colorstudio gui`:

    python -m colorstudio.platform_check      # exit 0: fine (or not Linux/X11); 1: missing

and it prints the one `apt-get install` line that fixes it. Standard library only (it runs
before anything else is known to work); no Qt, no torch.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

# soname -> the Debian/Ubuntu package that ships it. Qt >= 6.5's xcb plugin needs all of
# them; the .deb (installer/linux_package.py) lists the same packages in `Depends:`.
QT_XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
}
QT_XCB_PACKAGES: tuple[str, ...] = tuple(dict.fromkeys(QT_XCB_LIBRARIES.values()))


def library_present(soname: str) -> bool:
    """True when the dynamic loader finds `soname` (the search Qt's plugin loader makes)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def needs_xcb(platform: str, env: Mapping[str, str]) -> bool:
    """Linux, and Qt will use its xcb plugin: QT_QPA_PLATFORM unset (Qt's default, also the
    fallback under Wayland) or naming xcb. `offscreen`, `wayland`, `vnc` ... need none."""
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip().lower()
    return not chosen or any(p.strip().startswith("xcb") for p in chosen.split(";"))


def missing_packages(present: Callable[[str], bool]) -> list[str]:
    """The packages whose library the loader cannot find, in install-line order."""
    return list(dict.fromkeys(pkg for lib, pkg in QT_XCB_LIBRARIES.items() if not present(lib)))


def install_line(packages: list[str]) -> str:
    return "sudo apt-get install " + " ".join(packages)


def message(packages: list[str]) -> str:
    """What a user reads when libraries are missing: which, why, and the one line to run."""
    return (
        "ColorStudio's window cannot start yet: Qt needs system libraries for its X11 (xcb)\n"
        f"platform plugin that are not installed ({', '.join(packages)}).\n"
        "On Debian or Ubuntu, install them with:\n\n"
        f"    {install_line(packages)}\n\n"
        "then run `make run` again. (Other distributions: install the packages that provide "
        "the same libraries.)")


def check(present: Callable[[str], bool] | None = None, platform: str | None = None,
          env: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """-> (ok, message); the message is empty when nothing is missing. The defaults: the
    real library lookup, this system, this process's environment."""
    if not needs_xcb(sys.platform if platform is None else platform,
                     os.environ if env is None else env):
        return True, ""
    missing = missing_packages(library_present if present is None else present)
    return (not missing), (message(missing) if missing else "")


def main(argv: list[str] | None = None) -> int:
    ok, text = check()
    if not ok:
        print(text, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
