"""ColorStudio: colourise grayscale photographs at full resolution, with optional colour hints."""

__version__ = "0.1.0"
