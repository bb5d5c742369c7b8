"""Shared detector plumbing: keyword handling, backend runner, the detect() flow."""

from __future__ import annotations

import os
from enum import Enum
from typing import Any

from runtime.face import detectors as post
from runtime.face.preprocess import ensure_bgr

import numpy as np

from .._runner import create_runner, fixed_hw, resolve_weights, signature

_ALIASES = {"confidence_threshold": "conf_thresh", "nms_threshold": "nms_thresh"}


class BaseDetector:
    """Detector base: subclasses set defaults and implement `_forward(image) -> (dets, landmarks)`."""

    default_model: Enum
    defaults: dict[str, Any] = {}

    def __init__(
        self,
        *,
        model_name: Enum | None = None,
        model_path: str | os.PathLike | None = None,
        backend: str | None = None,
        mode: str = "module",
        **kwargs: Any,
    ) -> None:
        for old, new in _ALIASES.items():
            if old in kwargs:
                kwargs[new] = kwargs.pop(old)
        options = {**self.defaults, **kwargs}
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unexpected keyword(s) {unknown}; accepted: {sorted(self.defaults)}"
            )
        for key, value in options.items():
            setattr(self, key, value)
        self.model_name = model_name if model_name is not None else self.default_model
        self.model_path = resolve_weights(self.model_name, model_path)
        self.inputs, self.outputs = signature(self.model_path)
        self.mode = mode
        self._backend_request = backend
        self.session = None

    def _open(self, input_shapes: dict[str, tuple[int, ...]] | None = None) -> None:
        self.session = create_runner(
            self.model_path, backend=self._backend_request, mode=self.mode, input_shapes=input_shapes
        )

    def _fixed_input(self, size_wh: tuple[int, int]) -> dict[str, tuple[int, ...]] | None:
        """Check `size_wh` against a static model input; the concrete shape for a dynamic one."""
        h, w = fixed_hw(self.inputs[0])
        if h and w:
            if (w, h) != tuple(size_wh):
                raise ValueError(f"{self.model_path}: this model takes {w}x{h} inputs, not input_size={tuple(size_wh)}")
            return None
        return {self.inputs[0].name: (1, 3, size_wh[1], size_wh[0])}

    @property
    def backend(self) -> str:
        """The backend actually running this model ('mlx' or 'onnx')."""
        return self.session.backend

    def detect(
        self, image: np.ndarray, max_num: int = 0, metric: str = "max", center_weight: float = 2.0
    ) -> list[dict]:
        """Faces in a BGR image as dicts `{'bbox': (4,) x1y1x2y2, 'confidence': float, 'landmarks': (5, 2)}`.

        `max_num > 0` keeps that many faces: the largest (`metric='max'`) or
        the largest near the image centre (any other metric).
        """
        image = ensure_bgr(image)
        dets, lms = self._forward(image)
        dets, lms = post.select_top(dets, lms, max_num, image.shape[:2], metric, center_weight)
        return post.to_dicts(dets, lms)

    __call__ = detect

    def _forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        name = os.path.basename(self.model_path)
        return f"{type(self).__name__}(model={name!s}, backend={self.session.backend if self.session else None})"


def as_wh(size: int | tuple[int, int] | list) -> tuple[int, int]:
    """An input size given as an int or (width, height)."""
    if isinstance(size, int):
        return size, size
    w, h = size
    return int(w), int(h)
