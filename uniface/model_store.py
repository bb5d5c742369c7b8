"""Where weights live: `UNIFACE_CACHE_DIR` (default ~/.uniface/models), filled on first use."""

from __future__ import annotations

import logging
import os
import sys
from enum import Enum
from pathlib import Path

from runtime.download import fetch

from .constants import MODEL_REGISTRY, ModelInfo

log = logging.getLogger("uniface")

ENV_CACHE = "UNIFACE_CACHE_DIR"
DEFAULT_CACHE = "~/.uniface/models"


def cache_dir() -> Path:
    """The weights folder (read from the environment each call)."""
    return Path(os.environ.get(ENV_CACHE) or DEFAULT_CACHE).expanduser()


def model_info(model_name: Enum) -> ModelInfo:
    try:
        return MODEL_REGISTRY[model_name]
    except KeyError:
        raise ValueError(f"unknown model {model_name!r}; known: {[m.name for m in MODEL_REGISTRY]}") from None


def _progress(name: str):
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None) -> None:
        text = f"{done / 2**20:.1f} MiB" + (f" / {total / 2**20:.1f} MiB" if total else "")
        sys.stderr.write(f"\rDownloading {name}: {text}")
        if total and done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def verify_model_weights(model_name: Enum, root: str | os.PathLike | None = None) -> str:
    """Path to the weights of `model_name`, downloading and sha256-checking them if absent.

    A file already in the folder is used as is: it was either verified when
    downloaded, or put there on purpose (a local override).
    """
    info = model_info(model_name)
    folder = Path(root).expanduser() if root else cache_dir()
    legacy = f"{model_name.value}{Path(info.filename).suffix}"
    if info.url is None and not (folder / info.filename).is_file() and not (folder / legacy).is_file():
        raise FileNotFoundError(
            f"{model_name!r}: {info.note}. Expected at {folder / info.filename}, or pass model_path="
        )
    path = fetch(info.filename, info.url, info.sha256, folder, aliases=(legacy,), progress=_progress(info.filename))
    log.debug("weights for %s: %s", model_name, path)
    return str(path)
