"""The `uniface` logger (silent below WARNING by default) and `enable_logging`, as in upstream 1.x and 4.x."""

from __future__ import annotations

import logging

__all__ = ["Logger", "enable_logging"]

Logger = logging.getLogger("uniface")
Logger.setLevel(logging.WARNING)
Logger.addHandler(logging.NullHandler())


def enable_logging(level: int = logging.INFO) -> None:
    """Print uniface's log records (model loading, downloads, per-face failures) to stderr at `level`."""
    Logger.handlers.clear()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s", datefmt="%Y-%m-%d %H:%M:%S"))
    Logger.addHandler(handler)
    Logger.setLevel(level)
    Logger.propagate = False
