"""Entry point of the frozen (PyInstaller) ColorStudio: the same `colorstudio` command line.

Desktop launchers (Finder's "Open with", Explorer's file associations, .desktop entries)
hand over bare file paths; those open in the desktop app, as `colorstudio gui FILES` would.
"""

import multiprocessing
import os
import sys


def desktop_argv(argv: list[str], commands: tuple[str, ...]) -> list[str]:
    """`[photo, ...]` -> `["gui", photo, ...]`; any other command line is left alone."""
    if argv and argv[0] not in commands and all(not a.startswith("-") and os.path.exists(a)
                                                for a in argv):
        return ["gui", *argv]
    return argv


if __name__ == "__main__":
    # Windows and macOS start worker processes by spawning the executable again.
    multiprocessing.freeze_support()
    from colorstudio.cli import COMMANDS, main

    sys.exit(main(desktop_argv(sys.argv[1:], COMMANDS)))
