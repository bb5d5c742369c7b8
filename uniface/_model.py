"""Base for the models that run on one image crop (recognizers, attributes, landmarks, other predictors).

Construction is the same for every family: the weights from `model_name`
(an upstream enum member, positional where uniface 1.x allowed it) or
`model_path=` (a local ONNX file, our extension), the backend
(`backend=`, else `uniface.backend`'s choice), and the first input's size
read from the model. Subclasses add their pre/post-processing and call
`self._infer(blob)` or `self.session.run(feed)`; those that pass an
`image_input` (their normalization of the 8-bit image) call
`self.session.run_image(images)` when `takes_images` says the runner was
opened with it.
"""

from __future__ import annotations

import os
from enum import Enum
from typing import ClassVar

from translator.image_input import ImageInput

import numpy as np

from ._runner import RunnerOwner, fixed_hw, resolve_weights, signature


class OnnxModel(RunnerOwner):
    """Resolves weights, reads the input size from the model, opens the runner at that size.

    `default_hw`: the (height, width) used when the model's input is dynamic
    and no `input_size` is given. `dynamic_input`: open the runner without
    fixing the input shape (each new shape is translated once on MLX).
    `image_input` (from subclasses): the model's normalization of the 8-bit
    image, so that the runner can take the image itself (`_runner.create_runner`).
    """

    default_model: ClassVar[Enum]
    default_hw: ClassVar[tuple[int, int]] = (112, 112)
    dynamic_input: ClassVar[bool] = False

    def __init__(
        self,
        model_name: Enum | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        backend: str | None = None,
        mode: str = "module",
        input_size: int | tuple[int, int] | None = None,
        providers: list[str] | None = None,
        image_input: ImageInput | None = None,
    ) -> None:
        if isinstance(model_name, str) and not isinstance(model_name, Enum):
            # Upstream's weight enums are `str` enums, so `model_name="modnet_webcam"` finds the slot there
            # (its docs use that form); accept a member's value the same way.
            model_name = next((m for m in type(self.default_model) if m.value == model_name), model_name)
        if model_name is not None and not isinstance(model_name, Enum):
            raise TypeError(
                f"{type(self).__name__}: model_name must be a weights enum member (e.g. "
                f"{type(self.default_model).__name__}.{self.default_model.name}), got {model_name!r}; "
                "pass a file as model_path="
            )
        self.model_name = model_name if model_name is not None else self.default_model
        self.providers = providers  # accepted for upstream compatibility; the ONNX backend runs on the CPU
        self.model_path = resolve_weights(self.model_name, model_path, self._registry_entry())
        self.inputs, self.outputs = signature(self.model_path)
        h, w = fixed_hw(self.inputs[0])
        if input_size is not None:
            w_req, h_req = (input_size, input_size) if isinstance(input_size, int) else input_size
            if (h and h != h_req) or (w and w != w_req):
                raise ValueError(f"{self.model_path}: the model takes {w}x{h} inputs, not {w_req}x{h_req}")
            h, w = h_req, w_req
        self.input_size = (int(w or self.default_hw[1]), int(h or self.default_hw[0]))  # (width, height)
        self.input_name = self.inputs[0].name
        self.output_names = [o.name for o in self.outputs]
        shapes = None if self.dynamic_input else {self.input_name: (1, 3, self.input_size[1], self.input_size[0])}
        self._open_runner(self.model_path, backend=backend, mode=mode, input_shapes=shapes, image_input=image_input)

    def _registry_entry(self):
        """The registry entry to resolve `model_name` with (None: `uniface.constants.MODEL_REGISTRY`)."""
        return None

    @property
    def backend(self) -> str:
        """The backend actually running this model ('mlx' or 'onnx')."""
        return self.session.backend

    def _infer(self, blob: np.ndarray) -> np.ndarray:
        """The first output for a single-input feed (a preprocessed float tensor)."""
        return self.tensor_session.run({self.input_name: blob})[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={os.path.basename(self.model_path)}, backend={self.backend})"
