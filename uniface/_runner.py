"""Opening a model for a facade class: weights lookup + backend choice + runner (image in or tensor in)."""

from __future__ import annotations

import logging
import os
from enum import Enum
from typing import Any

from runtime.models import ModelRunner, TensorInfo, open_model, read_signature
from translator.image_input import ImageInput

import numpy as np

from .backend import Backend, image_input_enabled, resolve_backend
from .constants import ModelInfo
from .model_store import cache_dir, verify_model_weights

log = logging.getLogger("uniface")


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
    image_input: ImageInput | None = None,
) -> ModelRunner:
    """Runner for the ONNX file at `path` on the requested (or automatic) backend.

    Translations are cached under `<UNIFACE_CACHE_DIR>/mlx`. An automatically
    chosen MLX backend falls back to onnxruntime (with a warning) when the
    model cannot be translated yet; an explicitly chosen one raises instead.
    `dynamic=True`: one translation that runs at every input size.
    `image_input`: the model's normalization of the 8-bit image; the runner's
    `run_image` then takes the image (see runtime.models.open_model). It is
    dropped (the caller feeds float tensors) when `UNIFACE_IMAGE_INPUT=0` or
    when the file's input is not one float NCHW tensor of 3 channels.
    """
    chosen, explicit = resolve_backend(backend)
    if image_input is not None and not (image_input_enabled() and fits_image_input(signature(path)[0], image_input)):
        image_input = None
    return open_model(
        path,
        chosen.value,
        mode=mode,
        cache_dir=cache_dir() / "mlx",
        input_shapes=input_shapes,
        fallback=not explicit,
        dynamic=dynamic,
        image_input=image_input,
    )


def fits_image_input(inputs: list[TensorInfo], spec: ImageInput) -> bool:
    """True if a model with these inputs can take a 3-channel 8-bit image normalized by `spec`.

    Why: `model_path=` accepts any file; one whose input is not a single float NCHW tensor of 3 channels
    (or a spec with other than 1 or 3 values) keeps the float tensor path instead of failing to translate.
    """
    if len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].shape[1] != 3 or inputs[0].dtype.kind != "f":
        log.debug("%s: not a 3-channel NCHW float input, the float tensor path stays", inputs)
        return False
    return all(np.asarray(v).size in (1, 3) for v in (spec.mean, spec.std))


class RunnerOwner:
    """A facade class's runner (`self.session`), opened once, plus the tensor-in runner upstream's methods need.

    An MLX translation made with the image input takes the 8-bit image in `run` as well; methods of the
    upstream API that take a preprocessed float tensor (`inference`) use `tensor_session` instead.
    """

    session: ModelRunner
    _runner_args: dict[str, Any]
    _tensor_session: ModelRunner | None = None

    def _open_runner(self, path: str, *, image_input: ImageInput | None = None, **kwargs: Any) -> None:
        self._runner_args = {"path": path, **kwargs}
        self._tensor_session = None
        self.session = create_runner(path, image_input=image_input, **kwargs)

    @property
    def takes_images(self) -> bool:
        """True when the runner was opened with the image input (`session.run_image`)."""
        return self.session.image_input is not None

    @property
    def tensor_session(self) -> ModelRunner:
        """A runner whose `run` takes the float NCHW tensor: `session`, unless that is an MLX translation
        reading the 8-bit image; then the same model without the image input (opened on first use)."""
        if self.session.image_input is None or self.session.backend != "mlx":
            return self.session
        if self._tensor_session is None:
            self._tensor_session = create_runner(**dict(self._runner_args, backend=self.session.backend))
        return self._tensor_session


def fixed_hw(info: TensorInfo) -> tuple[int | None, int | None]:
    """(height, width) of an NCHW input; None where the dim is dynamic."""
    if len(info.shape) != 4:
        return None, None
    return info.shape[2], info.shape[3]
