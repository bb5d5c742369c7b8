"""Backend selection: MLX (translated models) by default, onnxruntime as the alternative.

Precedence when a model is constructed: an explicit `backend=` argument,
then `set_backend()`, then the `UNIFACE_BACKEND` environment variable (read
at construction time, not at import), then MLX if it imports, else ONNX.

`UNIFACE_IMAGE_INPUT` (also read at construction): the detectors and
recognizers hand their networks the 8-bit image (normalized inside the MLX
translation, or by `runtime.models.image_blob` for onnxruntime); `0` makes
them feed the float tensor made in numpy instead, as before.
"""

from __future__ import annotations

import functools
import os
from enum import Enum

ENV_VAR = "UNIFACE_BACKEND"
IMAGE_INPUT_ENV_VAR = "UNIFACE_IMAGE_INPUT"
_ON, _OFF = ("", "1", "true", "yes", "on"), ("0", "false", "no", "off")


class Backend(str, Enum):
    MLX = "mlx"
    ONNX = "onnx"


_override: Backend | None = None


def _parse(value: Backend | str) -> Backend:
    if isinstance(value, Backend):
        return value
    try:
        return Backend(str(value).strip().lower())
    except ValueError:
        raise ValueError(f"unknown backend {value!r}; use 'mlx' or 'onnx'") from None


@functools.cache
def mlx_available() -> bool:
    """True if MLX imports on this machine (checked once)."""
    try:
        import mlx.core  # noqa: F401
    except Exception:
        return False
    return True


def set_backend(backend: Backend | str | None) -> None:
    """Force a backend for models constructed from now on (`None` restores automatic choice)."""
    global _override
    _override = None if backend is None else _parse(backend)


def resolve_backend(backend: Backend | str | None = None) -> tuple[Backend, bool]:
    """(backend, explicit): explicit when chosen by argument, `set_backend` or the environment."""
    if backend is not None:
        return _parse(backend), True
    if _override is not None:
        return _override, True
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return _parse(env), True
    return (Backend.MLX if mlx_available() else Backend.ONNX), False


def get_backend() -> Backend:
    """The backend the next model will use."""
    return resolve_backend()[0]


def image_input_enabled() -> bool:
    """Whether models constructed now take the 8-bit image (`UNIFACE_IMAGE_INPUT`, on unless 0/false/no/off)."""
    value = os.environ.get(IMAGE_INPUT_ENV_VAR, "").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ValueError(
        f"{IMAGE_INPUT_ENV_VAR}={value!r}: use 1 (the networks read the 8-bit image, the default) "
        "or 0 (they get the float tensor made in numpy)"
    )
