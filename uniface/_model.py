"""Base for the single-input models (recognizers, attributes, landmarks)."""

from __future__ import annotations

import os
from enum import Enum

import numpy as np

from ._runner import create_runner, fixed_hw, resolve_weights, signature


class OnnxModel:
    """Resolves weights, reads the input size from the model, opens the runner at that size."""

    default_model: Enum
    default_hw: tuple[int, int] = (112, 112)

    def __init__(
        self,
        model_name: Enum | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        backend: str | None = None,
        mode: str = "module",
        input_size: tuple[int, int] | None = None,
    ) -> None:
        self.model_name = model_name if model_name is not None else self.default_model
        self.model_path = resolve_weights(self.model_name, model_path)
        self.inputs, self.outputs = signature(self.model_path)
        h, w = fixed_hw(self.inputs[0])
        if input_size is not None:
            w_req, h_req = (input_size, input_size) if isinstance(input_size, int) else input_size
            if (h and h != h_req) or (w and w != w_req):
                raise ValueError(f"{self.model_path}: the model takes {w}x{h} inputs, not {w_req}x{h_req}")
            h, w = h_req, w_req
        self.input_size = (int(w or self.default_hw[1]), int(h or self.default_hw[0]))  # (width, height)
        self.input_name = self.inputs[0].name
        shape = (1, 3, self.input_size[1], self.input_size[0])
        self.session = create_runner(self.model_path, backend=backend, mode=mode, input_shapes={self.input_name: shape})

    @property
    def backend(self) -> str:
        """The backend actually running this model ('mlx' or 'onnx')."""
        return self.session.backend

    def _infer(self, blob: np.ndarray) -> np.ndarray:
        return self.session.run({self.input_name: blob})[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={os.path.basename(self.model_path)}, backend={self.backend})"
