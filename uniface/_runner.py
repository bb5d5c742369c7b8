"""Opening a model for a facade class: weights lookup + backend choice + runner."""

from __future__ import annotations

import os
from enum import Enum

from runtime.models import ModelRunner, TensorInfo, open_model, read_signature

from .backend import Backend, resolve_backend
from .constants import ModelInfo
from .model_store import cache_dir, verify_model_weights


def resolve_weights(
    model_name: Enum | None, model_path: str | os.PathLike | None, info: ModelInfo | None = None
) -> str:
    """`model_path` if given (must exist), else the cached or downloaded file for `model_name`.

    `info` replaces the registry entry (a slot whose upstream file is not ONNX:
    only a local file under `info.filename` can fill it).
    """
    if model_path is not None:
        if not os.path.isfile(model_path):
            raise FileNotFoundError(f"model_path does not exist: {model_path}")
        return os.fspath(model_path)
    if info is not None:
        path = cache_dir() / info.filename
        if not path.is_file():
            raise FileNotFoundError(f"{model_name!r}: {info.note}. Expected at {path}")
        return str(path)
    return verify_model_weights(model_name)


def signature(path: str) -> tuple[list[TensorInfo], list[TensorInfo]]:
    return read_signature(path)


def create_runner(
    path: str,
    *,
    backend: Backend | str | None = None,
    mode: str = "module",
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    dynamic: bool = False,
) -> ModelRunner:
    """Runner for the ONNX file at `path` on the requested (or automatic) backend.

    Translations are cached under `<UNIFACE_CACHE_DIR>/mlx`. An automatically
    chosen MLX backend falls back to onnxruntime (with a warning) when the
    model cannot be translated yet; an explicitly chosen one raises instead.
    `dynamic=True`: one translation that runs at every input size.
    """
    chosen, explicit = resolve_backend(backend)
    return open_model(
        path,
        chosen.value,
        mode=mode,
        cache_dir=cache_dir() / "mlx",
        input_shapes=input_shapes,
        fallback=not explicit,
        dynamic=dynamic,
    )


def fixed_hw(info: TensorInfo) -> tuple[int | None, int | None]:
    """(height, width) of an NCHW input; None where the dim is dynamic."""
    if len(info.shape) != 4:
        return None, None
    return info.shape[2], info.shape[3]
