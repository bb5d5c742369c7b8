"""Opening a model for a facade class: weights lookup + backend choice + runner."""

from __future__ import annotations

import os
from enum import Enum

from runtime.models import ModelRunner, open_model

from .backend import Backend, resolve_backend
from .model_store import cache_dir, verify_model_weights


def create_runner(
    model_name: Enum | None,
    model_path: str | os.PathLike | None,
    *,
    backend: Backend | str | None = None,
    mode: str = "oplist",
    input_shapes: dict[str, tuple[int, ...]] | None = None,
) -> ModelRunner:
    """Runner for `model_path` if given, else for the cached/downloaded weights of `model_name`.

    An automatically chosen MLX backend falls back to onnxruntime (with a
    warning) when the model cannot be translated yet; an explicitly chosen
    one raises instead.
    """
    path = os.fspath(model_path) if model_path is not None else verify_model_weights(model_name)
    chosen, explicit = resolve_backend(backend)
    return open_model(
        path, chosen.value, mode=mode, cache_dir=cache_dir() / "mlx", input_shapes=input_shapes, fallback=not explicit
    )


def static_hw(runner: ModelRunner, default: tuple[int, int]) -> tuple[int, int]:
    """(height, width) declared by the model's first input, or `default` where dynamic."""
    shape = runner.inputs[0].shape
    h = shape[2] if len(shape) == 4 and shape[2] else default[0]
    w = shape[3] if len(shape) == 4 and shape[3] else default[1]
    return int(h), int(w)


def single_input_shapes(runner_inputs_name: str, hw: tuple[int, int], channels: int = 3) -> dict[str, tuple[int, ...]]:
    return {runner_inputs_name: (1, channels, hw[0], hw[1])}
