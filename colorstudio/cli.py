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

COMMANDS = ("colorize", "info", "models", "import-model", "eval", "bench", "gui", "train")


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
    ap.add_argument("--self-test", action="store_true",
                    help="check this installation headless (every bundled model, sha256, a "
                         "sample colourised, Qt, per-user folders) and exit 0 or 1")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = importlib.import_module(f".commands.{name.replace('-', '_')}", __package__)
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.self_test:
        from .commands.selftest import run as self_test

        return self_test(args)
    if args.command is None:
        # Only global options were given (`colorstudio --models-dir D`): they come before
        # the implied sub-command, and from sys.argv when called as the console script.
        args = ap.parse_args([*(sys.argv[1:] if argv is None else argv), "gui"])
    try:
        return int(args._run(args) or 0)
    except ColorStudioError as exc:
        # Per-file failures are handled (exit 1) inside the commands; what escapes is a usage
        # or set-up error: unknown model, missing weights, bad --hints file, no such device.
        print(f"colorstudio: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("colorstudio: interrupted", file=sys.stderr)
        return 130
