"""Where weights live: `UNIFACE_CACHE_DIR` (default ~/.uniface/models), filled on first use.

The API is uniface 4.x's (`get_cache_dir`, `set_cache_dir`,
`verify_model_weights(model_name, root=None, timeout=60, max_retries=3)`,
`download_models`), which also covers 1.x's `verify_model_weights(name, root)`.
One deliberate difference from both upstream versions: a file already in
the cache folder is used as it is, without re-hashing it (upstream 1.x
deletes it on a hash mismatch, 4.x downloads over it). Downloads are
verified before they are renamed into place, so a file there was either
verified or put there on purpose, e.g. a fine-tuned export under an
upstream name.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from enum import Enum
from pathlib import Path

from runtime.download import WeightsError, download

from . import constants
from .constants import ModelInfo

log = logging.getLogger("uniface")

ENV_CACHE = "UNIFACE_CACHE_DIR"
DEFAULT_CACHE = "~/.uniface/models"

__all__ = ["download_models", "get_cache_dir", "set_cache_dir", "verify_model_weights"]


def get_cache_dir() -> str:
    """The weights folder: `UNIFACE_CACHE_DIR` if set, else ~/.uniface/models (read on every call)."""
    return os.path.expanduser(os.environ.get(ENV_CACHE) or DEFAULT_CACHE)


def set_cache_dir(path: str | os.PathLike) -> None:
    """Use `path` for weights from now on (sets `UNIFACE_CACHE_DIR`, as upstream does)."""
    os.environ[ENV_CACHE] = os.fspath(path)
    log.info("cache directory set to %s", path)


def cache_dir() -> Path:
    """`get_cache_dir()` as a Path."""
    return Path(get_cache_dir())


def slot(model_name: Enum | str) -> Enum:
    """The registry's enum member for `model_name` (a member, or its value: the enums are `str` enums)."""
    for member in constants.MODEL_REGISTRY:
        if member is model_name or (not isinstance(model_name, Enum) and member == model_name):
            return member
    if isinstance(model_name, Enum) and model_name in constants.MODEL_REGISTRY:
        return model_name
    raise ValueError(f"unknown model {model_name!r}; pass a weights enum member such as RetinaFaceWeights.MNET_V2")


def model_info(model_name: Enum | str) -> ModelInfo:
    return constants.MODEL_REGISTRY[slot(model_name)]


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


def candidate_names(model_name: Enum, info: ModelInfo) -> list[str]:
    """File names the slot's weights may have in the cache: upstream 4.x's, then older aliases."""
    names = [info.filename]
    if info.url_name and info.url_name not in names:
        names.append(info.url_name)  # our earlier releases stored files under the URL's basename
    legacy = f"{model_name.value}.onnx"
    if legacy not in names:
        names.append(legacy)
    return names


def sources(model_name: Enum, info: ModelInfo) -> list[str]:
    """Where to download from, in order: the release URL, then upstream's mirror."""
    if not info.url:
        return []
    ext = os.path.splitext(info.url)[1]
    return [info.url, f"{constants.HF_MIRROR_URL.rstrip('/')}/{model_name.value}{ext}"]


def verify_model_weights(
    model_name: Enum,
    root: str | os.PathLike | None = None,
    timeout: float = 60,
    max_retries: int = 3,
) -> str:
    """Path to the weights of `model_name`, downloading and sha256-checking them if absent.

    Tries the release URL, then upstream's mirror, `max_retries` times each;
    raises `runtime.download.DownloadError` (a ConnectionError) naming the
    file and where to place it when every attempt fails, or `ChecksumError`
    when the bytes are wrong everywhere.
    """
    model_name = slot(model_name)
    info = constants.MODEL_REGISTRY[model_name]
    folder = Path(os.path.expanduser(root)) if root is not None else cache_dir()
    for name in candidate_names(model_name, info):
        if (folder / name).is_file():
            log.debug("weights for %s: %s", model_name, folder / name)
            return str(folder / name)
    dest = folder / info.filename
    if not info.url:
        raise FileNotFoundError(f"{model_name!r}: {info.note or 'no download URL'}. Expected at {dest}")
    failures: list[WeightsError] = []
    for url in sources(model_name, info):
        for attempt in range(max(1, int(max_retries))):
            try:
                log.info("downloading %s from %s", info.filename, url)
                return str(download(url, dest, info.sha256, timeout=timeout, progress=_progress(info.filename)))
            except WeightsError as exc:  # checksum or network: try again, then the next source
                log.info("attempt %d for %s failed: %s", attempt + 1, url, exc)
                if attempt + 1 < max_retries:
                    time.sleep(min(2.0**attempt, 8.0) * RETRY_DELAY_S)
                else:
                    failures.append(exc)
    first, *others = failures
    if others:  # the release URL's error says what to do; the mirror's is appended
        raise type(first)(f"{first} (the mirror failed too: {others[-1]})") from first
    raise first


RETRY_DELAY_S = 0.5  # backoff unit between attempts (tests set it to 0)


def download_models(
    model_names: Iterable[Enum], max_workers: int | None = None, timeout: float = 60, max_retries: int = 3
) -> dict[Enum, str]:
    """Fetch several models concurrently; `{member: path}`. RuntimeError lists every failure at once."""
    if isinstance(max_workers, bool) or not (max_workers is None or isinstance(max_workers, int)):
        raise TypeError(f"max_workers must be int or None, got {type(max_workers).__name__}")
    if max_workers is None or max_workers < 1:
        max_workers = min(os.cpu_count() or 1, 8)
    names = list(model_names)
    results: dict[Enum, str] = {}
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = {pool.submit(verify_model_weights, n, timeout=timeout, max_retries=max_retries): n for n in names}
        for future in as_completed(futures):
            name = futures[future]
            try:
                results[name] = future.result()
            except Exception as exc:  # noqa: BLE001 - collected and reported together below
                errors.append(f"{getattr(name, 'value', name)}: {exc}")
    if errors:
        raise RuntimeError(f"Failed to download {len(errors)} model(s):\n" + "\n".join(sorted(errors)))
    return {n: results[n] for n in names if n in results}
