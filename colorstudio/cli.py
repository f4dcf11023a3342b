"""The `colorstudio` command line. Each sub-command lives in `colorstudio/commands/<name>.py`
with `add_parser(subparsers)` and `run(args) -> int`.

Exit codes: 0 success, 1 some inputs failed, 2 usage errors. Errors a user can cause are
printed as one line (`colorstudio: error: ...`), never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from . import __version__
from .core.errors import ColorStudioError

COMMANDS = ("colorize", "info", "models", "eval", "bench", "gui", "train")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="colorstudio",
        description="Colourise grayscale photographs at full resolution, with optional hints.",
    )
    ap.add_argument("--version", action="version", version=f"colorstudio {__version__}")
    ap.add_argument("--models-dir", action="append", type=Path, metavar="DIR",
                    help="look for model cards here instead of the bundled and user folders "
                         "(repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = importlib.import_module(f".commands.{name}", __package__)
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        args = ap.parse_args(["gui", *(argv or [])])
    try:
        return int(args._run(args) or 0)
    except ColorStudioError as exc:
        print(f"colorstudio: error: {exc}", file=sys.stderr)
        return 2 if args.command not in ("colorize",) else 1
    except KeyboardInterrupt:
        print("colorstudio: interrupted", file=sys.stderr)
        return 130
