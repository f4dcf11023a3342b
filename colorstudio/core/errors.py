"""Errors a user may see. Each carries one clear line; the CLI and GUI print it, never a
traceback."""

from __future__ import annotations


class ColorStudioError(Exception):
    """Base class: ``str(err)`` is a complete, user-facing sentence."""


class ImageReadError(ColorStudioError):
    """The file could not be read as an image (missing, empty, truncated, unsupported, too big)."""


class ImageWriteError(ColorStudioError):
    """The output could not be written (permissions, disk full, unsupported format)."""


class ModelError(ColorStudioError):
    """A model is unknown, its weights are missing, or they fail verification."""


class HintsError(ColorStudioError):
    """A hints file is malformed or too large."""


class CancelledError(ColorStudioError):
    """A job was cancelled by the user."""
