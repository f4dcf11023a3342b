"""`colorstudio gui [FILES] [--screenshot OUT.png]` (also: `colorstudio` with no arguments)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("gui", help="start the desktop application")
    p.add_argument("files", nargs="*", type=Path, help="photos or folders to open")
    p.add_argument("--screenshot", type=Path, metavar="OUT.png",
                   help="colourise the first file with the default model, save a screenshot "
                        "of the whole window and exit (for docs and checks)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    return p


def run(args: argparse.Namespace) -> int:
    from ..app import run_app

    return run_app(args)
