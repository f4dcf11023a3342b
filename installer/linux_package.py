"""The Debian package around the PyInstaller folder: layout, metadata, maintainer scripts.

Layout of `colorstudio_<version>_<arch>.deb`:

    /opt/colorstudio/                      the one-folder PyInstaller build (read-only)
    /usr/bin/colorstudio                   launcher script -> /opt/colorstudio/colorstudio
    /usr/share/applications/colorstudio.desktop   menu entry + MIME associations
    /usr/share/icons/hicolor/*/apps/colorstudio.{png,svg}
    /usr/share/doc/colorstudio/copyright, README

The package installs only these paths, so `apt-get remove colorstudio` removes all of them
(dpkg tracks every file). The maintainer scripts refresh the desktop and icon caches; the
postrm script removes nothing else - settings, user models and logs live in the user's home
folders (platformdirs / QSettings) and are never touched by installing or removing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from colorstudio.platform_check import QT_XCB_LIBRARIES, QT_XCB_PACKAGES

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
PACKAGE = "colorstudio"
INSTALL_DIR = "/opt/colorstudio"
MAINTAINER = "ColorStudio developers <colorstudio@example.org>"
HOMEPAGE = "https://example.org/colorstudio"

# Image types ColorStudio opens (core/imageio.py reads these through Pillow and tifffile).
MIME_TYPES = ("image/png", "image/jpeg", "image/tiff", "image/webp", "image/bmp", "image/gif",
              "image/x-portable-graymap", "image/x-portable-anymap")

# Libraries that Qt's plugins load and that `ldd` may not find on the build machine (they
# are not installed there); the package names are Debian's and Ubuntu's.
KNOWN_PACKAGES = {
    **QT_XCB_LIBRARIES,  # the xcb platform plugin's (`make run` checks for the same ones)
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}
# Qt plugins whose missing system libraries make them optional: without the library Qt
# skips the plugin (GTK theme, Wayland) and the app still runs on X11/XWayland.
OPTIONAL_PLUGIN_DIRS = ("platformthemes", "wayland-", "egldeviceintegrations",
                        "platforminputcontexts", "generic")


def dir_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def debian_arch() -> str:
    try:
        return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


# --------------------------------------------------------------------------- metadata

def desktop_entry() -> str:
    """The freedesktop.org menu entry; `%F` hands the chosen photos to `colorstudio gui`."""
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        "Name=ColorStudio",
        "GenericName=Photo Colouriser",
        "Comment=Colourise grayscale photographs at full resolution, with colour hints",
        f"Exec={INSTALL_DIR}/colorstudio gui %F",
        "TryExec=" + INSTALL_DIR + "/colorstudio",
        "Icon=colorstudio",
        "Terminal=false",
        "Categories=Qt;Graphics;2DGraphics;RasterGraphics;Photography;",
        "Keywords=colorize;colourise;colorization;grayscale;black and white;archive;photo;",
        "MimeType=" + "".join(f"{m};" for m in MIME_TYPES),
        "StartupNotify=true",
        "StartupWMClass=ColorStudio",
        "",
    ])


def control_file(version: str, arch: str, installed_kib: int, depends: list[str],
                 recommends: list[str]) -> str:
    fields = [
        ("Package", PACKAGE),
        ("Version", f"{version}-1"),
        ("Architecture", arch),
        ("Maintainer", MAINTAINER),
        ("Installed-Size", str(installed_kib)),
        ("Depends", ", ".join(depends)),
        ("Recommends", ", ".join(recommends)),
        ("Section", "graphics"),
        ("Priority", "optional"),
        ("Homepage", HOMEPAGE),
        ("Description", ("colourise grayscale photographs (desktop app and command line)\n"
         " ColorStudio colourises black-and-white photographs at full resolution,\n"
         " keeping the original lightness, with optional colour hints, archival\n"
         " output (provenance metadata, ICC, 16-bit TIFF) and fine-tuning.\n"
         " .\n"
         " Self-contained: Python, PyTorch (CPU build), Qt and the bundled models\n"
         " are inside /opt/colorstudio. Check an installation with\n"
         " `colorstudio --self-test`.")),
    ]
    return "".join(f"{k}: {v}\n" for k, v in fields if v)


LAUNCHER = f"""#!/bin/sh
# ColorStudio launcher (installed by the colorstudio package).
exec {INSTALL_DIR}/colorstudio "$@"
"""

POSTINST = """#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    fi
fi
exit 0
"""

# dpkg itself removes every file the package installed. This script only refreshes the
# caches and removes the install folder if dpkg left it empty; it never touches user data
# (~/.config/ColorStudio, ~/.local/share/ColorStudio, ~/.local/state/ColorStudio).
POSTRM = f"""#!/bin/sh
set -e
case "$1" in
    remove|purge)
        if command -v update-desktop-database >/dev/null 2>&1; then
            update-desktop-database -q /usr/share/applications || true
        fi
        if command -v gtk-update-icon-cache >/dev/null 2>&1; then
            gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
        fi
        if [ -d {INSTALL_DIR} ]; then
            find {INSTALL_DIR} -depth -type d -empty -delete 2>/dev/null || true
        fi
        ;;
esac
exit 0
"""

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ColorStudio
Source: {homepage}

Files: *
License: MIT
Comment: ColorStudio itself. The bundled runtime keeps its own licences: CPython (PSF),
 PyTorch (BSD-3-Clause), Qt 6 / PySide6 (LGPLv3), NumPy, Pillow, OpenCV (Apache-2.0),
 safetensors (Apache-2.0), tifffile and imagecodecs (BSD-3-Clause), exiv2 / pyexiv2
 (GPLv3), qtawesome (MIT; icon fonts under SIL OFL 1.1 / CC BY 4.0), platformdirs (MIT).
 Their licence texts lie in the package's folders under /opt/colorstudio/_internal.
 The sample photo is CC0 (resources/README.md); model cards name each model's licence.
"""


# --------------------------------------------------------------------------- dependencies

def _is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _dpkg_owner(path: str) -> str | None:
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):  # merged /usr: dpkg may know either spelling
        if p.startswith("/usr/lib/"):
            candidates.append(p[4:])
        elif p.startswith("/lib"):
            candidates.append("/usr" + p)
    for p in candidates:
        r = subprocess.run(["dpkg", "-S", p], check=False, capture_output=True, text=True)
        if r.returncode == 0 and ":" in r.stdout:
            return r.stdout.split(":")[0].strip()
    return None


def system_dependencies(folder: Path) -> tuple[list[str], list[str], list[str]]:
    """-> (Depends, Recommends, unknown library names): system libraries the bundle's ELF
    files link to (found with ldd, mapped to packages with dpkg -S), the ones of optional
    Qt plugins as Recommends."""
    required: set[str] = set()
    optional: set[str] = set()
    unknown: set[str] = set()
    owners: dict[str, str | None] = {}
    root = str(folder.resolve())
    # Bundled libraries that ldd cannot place (wheels' private lib folders, libraries opened
    # by path with ctypes first) are inside the package: not dependencies.
    bundled = {p.name for p in folder.rglob("*.so*")}
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or f.is_symlink() or not _is_elf(f):
            continue
        rel = f.relative_to(folder).as_posix()
        target = optional if any(f"/plugins/{d}" in rel for d in OPTIONAL_PLUGIN_DIRS) \
            else required
        r = subprocess.run(["ldd", str(f)], check=False, capture_output=True, text=True)
        for line in r.stdout.splitlines():
            m = re.match(r"\s*(\S+) => (.+?) \(0x", line)
            nf = re.match(r"\s*(\S+) => not found", line)
            if nf:
                name = nf.group(1)
                if name in bundled or name.split(".so")[0] + ".so" in bundled:
                    continue  # e.g. libexiv2.so.28: pyexiv2 opens lib/libexiv2.so by path
                if name in KNOWN_PACKAGES:
                    target.add(KNOWN_PACKAGES[name])
                elif target is required:
                    unknown.add(name)
                continue
            if not m or m.group(2).startswith(root):
                continue
            lib = m.group(2)
            if lib not in owners:
                owners[lib] = _dpkg_owner(lib)
            pkg = owners[lib]
            if pkg:
                target.add(pkg.split(":")[0])  # drop the :amd64 qualifier
            elif target is required:
                unknown.add(lib)
    if any(folder.rglob("platforms/libqxcb.so")):
        # Qt's xcb plugin opens these at start-up; a build machine without one of them (ldd
        # "not found" for a library not in KNOWN_PACKAGES) must not drop it from Depends.
        required.update(QT_XCB_PACKAGES)
    glibc = os.confstr("CS_GNU_LIBC_VERSION").split()[-1] if hasattr(os, "confstr") else ""
    depends = sorted(required)
    if "libc6" in required and glibc:
        depends[depends.index("libc6")] = f"libc6 (>= {glibc})"
    return depends, sorted(optional - required), sorted(unknown)


# --------------------------------------------------------------------------- build

def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link copy (fast, no extra space) where possible, plain copy otherwise."""
    def link(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, symlinks=True, copy_function=link)


def _write(path: Path, text: str | bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    os.chmod(path, mode)


def stage_tree(folder: Path, tree: Path, version: str, arch: str,
               depends: list[str], recommends: list[str]) -> Path:
    """Lay out the package's file tree (DEBIAN/ included) in `tree`."""
    if tree.exists():
        shutil.rmtree(tree)
    opt = tree / INSTALL_DIR.lstrip("/")
    opt.parent.mkdir(parents=True)
    _link_tree(folder, opt)
    _write(tree / "usr/bin/colorstudio", LAUNCHER, 0o755)
    _write(tree / "usr/share/applications/colorstudio.desktop", desktop_entry())
    for png in sorted(ICONS.glob("colorstudio-*.png")):
        size = png.stem.split("-")[-1]
        _write(tree / f"usr/share/icons/hicolor/{size}x{size}/apps/colorstudio.png",
               png.read_bytes())
    _write(tree / "usr/share/icons/hicolor/scalable/apps/colorstudio.svg",
           (ICONS / "colorstudio.svg").read_bytes())
    doc = tree / "usr/share/doc" / PACKAGE
    _write(doc / "copyright", COPYRIGHT.format(homepage=HOMEPAGE))
    _write(doc / "README.installer.md", (ROOT / "installer" / "README.md").read_bytes())
    # Directories 0755, files keep their modes (executables 0755, the rest 0644).
    for p in tree.rglob("*"):
        if p.is_dir():
            os.chmod(p, 0o755)
    installed_kib = (dir_size(tree) + 1023) // 1024
    debian = tree / "DEBIAN"
    _write(debian / "control", control_file(version, arch, installed_kib, depends, recommends))
    _write(debian / "postinst", POSTINST, 0o755)
    _write(debian / "postrm", POSTRM, 0o755)
    _write(debian / "md5sums", _md5sums(tree))
    return tree


def _md5sums(tree: Path) -> str:
    lines = []
    for p in sorted(tree.rglob("*")):
        rel = p.relative_to(tree).as_posix()
        if p.is_file() and not p.is_symlink() and not rel.startswith("DEBIAN/"):
            h = hashlib.md5()
            with open(p, "rb") as fh:
                while block := fh.read(1 << 20):
                    h.update(block)
            lines.append(f"{h.hexdigest()}  {rel}\n")
    return "".join(lines)


def build_deb(folder: Path, dist: Path, version: str, work: Path,
              log: Callable[[str], None] = print) -> Path:
    arch = debian_arch()
    depends, recommends, unknown = system_dependencies(folder)
    log(f"Depends: {', '.join(depends)}")
    log(f"Recommends: {', '.join(recommends) or '-'}")
    if unknown:
        log(f"warning: libraries with no known package: {', '.join(unknown)}")
    tree = stage_tree(folder, work / f"{PACKAGE}_{version}-1_{arch}", version, arch,
                      depends, recommends)
    dist.mkdir(parents=True, exist_ok=True)
    deb = dist / f"{PACKAGE}_{version}-1_{arch}.deb"
    # xz: the smallest package any dpkg can read (zstd needs dpkg >= 1.21.18).
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(tree), str(deb)],
                   check=True)
    return deb
