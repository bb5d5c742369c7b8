"""Fetch model weights once, verified by sha256, without ever leaving a partial file behind.

A download streams into a temp file in the destination folder and is renamed
into place only after its sha256 matches, so a file at the final path is
always either verified or placed there by the user on purpose.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

CHUNK = 1 << 20


class WeightsError(RuntimeError):
    """Base class for weights that cannot be obtained."""


class ChecksumError(WeightsError, ValueError):
    """The downloaded bytes do not have the expected sha256 (the partial file is deleted)."""


class DownloadError(WeightsError, ConnectionError):
    """The weights could not be downloaded (no network, HTTP error, ...)."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _manual_hint(url: str, dest: Path, sha256: str | None) -> str:
    check = f" (sha256 {sha256})" if sha256 else ""
    return f"download {url} by other means and place it at {dest}{check}, or pass model_path= to use a local file"


def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None,
    *,
    timeout: float = 60.0,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download `url` to `dest` through a temp file; verify `sha256` before the rename.

    Raises ChecksumError (naming the expected and actual hash; nothing is
    left on disk) or DownloadError (saying which file to place where).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                total = resp.headers.get("Content-Length")
                total = int(total) if total and total.isdigit() else None
                done = 0
                while chunk := resp.read(CHUNK):
                    out.write(chunk)
                    h.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        except urllib.error.HTTPError as exc:
            raise DownloadError(
                f"could not download {dest.name} from {url}: HTTP {exc.code} {exc.reason}. {_manual_hint(url, dest, sha256)}"
            ) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DownloadError(
                f"could not download {dest.name} from {url} ({reason}); no network? To work offline, {_manual_hint(url, dest, sha256)}"
            ) from exc
        actual = h.hexdigest()
        if sha256 and actual != sha256.lower():
            raise ChecksumError(
                f"sha256 mismatch for {dest.name} downloaded from {url}: expected {sha256.lower()}, got {actual}. "
                "The partial download was deleted; try again, or check the URL."
            )
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def fetch(
    filename: str,
    url: str | None,
    sha256: str | None,
    cache_dir: str | os.PathLike,
    *,
    aliases: tuple[str, ...] = (),
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Path of `filename` in `cache_dir`, downloading it first if no copy is there.

    `aliases` are other names the same file may already have in the cache
    (e.g. the names older uniface releases stored weights under).
    """
    cache = Path(cache_dir).expanduser()
    dest = cache / filename
    for name in (filename, *aliases):
        if (cache / name).is_file():
            return cache / name
    if not url:
        raise FileNotFoundError(
            f"{filename} is not in {cache} and has no download URL; place it at {dest}, or pass model_path= to use a local file"
        )
    return download(url, dest, sha256, progress=progress)


def copy_into_cache(src: str | os.PathLike, cache_dir: str | os.PathLike, filename: str) -> Path:
    """Copy a local file into the cache under `filename` atomically (used to pre-seed caches)."""
    dest = Path(cache_dir) / filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest
