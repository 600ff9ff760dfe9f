"""gildash: a terminal dashboard that makes the GIL visible."""

__version__ = "0.1.0"
