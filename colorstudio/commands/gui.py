"""`colorstudio gui [FILES] [--screenshot OUT.png]` (also: `colorstudio` with no arguments)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("gui", help="start the desktop application")
    p.add_argument("files", nargs="*", type=Path)
    p.add_argument("--screenshot", type=Path, metavar="OUT.png",
                   help="colourise the first file, save a screenshot of the window and exit")
    return p


def run(args: argparse.Namespace) -> int:
    try:
        from ..ui.app import run_app
    except ImportError:
        print("The desktop application is not part of this build yet; "
              "use the command line (`colorstudio --help`).")
        from ..cli import build_parser

        build_parser().print_help()
        return 0
    return run_app(args)
