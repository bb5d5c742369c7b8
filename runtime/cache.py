"""On-disk cache of translated models, keyed by ONNX sha256 + translator version + mode + shapes.

Layout: `<root>/<stem>-<sha16>-t<version>-<mode>[-<shapes>]/` holding the
translator's output (`model.oplist.json` or `model.py`, `model.safetensors`)
and `meta.json`. An entry is built in a temp folder beside it and renamed
into place in one step, so readers never see half an entry; when two
processes race, the first rename wins and the loser discards its copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from translator.api import convert
from translator.errors import TranslatorError
from translator.version import __version__ as TRANSLATOR_VERSION

from .loader import CompiledModel, load_module_model, load_oplist_model

MAIN_FILE = {"oplist": "model.oplist.json", "module": "model.py"}


def shapes_key(input_shapes: dict[str, tuple[int, ...]] | None) -> str:
    """Short text for concrete input shapes ('' when the model is translated as declared)."""
    if not input_shapes:
        return ""
    return "_".join("x".join(str(int(d)) for d in shape) for _, shape in sorted(input_shapes.items()))


def entry_dir(root: str | os.PathLike, stem: str, sha256: str, mode: str, input_shapes: dict | None = None) -> Path:
    """Folder of one cache entry (not created)."""
    safe_stem = re.sub(r"[^0-9A-Za-z_.-]", "_", stem)[:60] or "model"
    key = f"{safe_stem}-{sha256[:16]}-t{TRANSLATOR_VERSION}-{mode}"
    shapes = shapes_key(input_shapes)
    return Path(root) / (key + (f"-{shapes}" if shapes else ""))


def _meta(sha256: str, mode: str, input_shapes: dict | None) -> dict:
    shapes = {k: list(map(int, v)) for k, v in (input_shapes or {}).items()}
    return {"source_sha256": sha256, "translator_version": TRANSLATOR_VERSION, "mode": mode, "input_shapes": shapes}


def _load(entry: Path, mode: str) -> CompiledModel:
    main = entry / MAIN_FILE[mode]
    return load_oplist_model(main) if mode == "oplist" else load_module_model(main)


def _valid(entry: Path, meta: dict) -> bool:
    try:
        return json.loads((entry / "meta.json").read_text()) == meta
    except (OSError, ValueError):
        return False


def load_or_translate(
    onnx_path: str | os.PathLike,
    sha256: str,
    root: str | os.PathLike,
    *,
    mode: str = "oplist",
    input_shapes: dict[str, tuple[int, ...]] | None = None,
) -> tuple[CompiledModel, bool]:
    """Load the cached translation of `onnx_path`, translating (once) if needed.

    Returns (model, translated_now). A damaged entry is rebuilt.
    """
    if mode not in MAIN_FILE:
        raise TranslatorError(f"unknown mode {mode!r}; use one of {sorted(MAIN_FILE)}")
    root = Path(root)
    entry = entry_dir(root, Path(onnx_path).stem, sha256, mode, input_shapes)
    meta = _meta(sha256, mode, input_shapes)
    if _valid(entry, meta):
        try:
            return _load(entry, mode), False
        except (TranslatorError, OSError, ValueError):
            shutil.rmtree(entry, ignore_errors=True)  # damaged: rebuild below
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".tmp", dir=root))
    try:
        convert(str(onnx_path), tmp, mode=mode, name="model", input_shapes=input_shapes)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        try:
            os.rename(tmp, entry)
        except OSError:
            if not _valid(entry, meta):  # a stale or broken entry is in the way: replace it
                shutil.rmtree(entry, ignore_errors=True)
                os.rename(tmp, entry)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return _load(entry, mode), True
