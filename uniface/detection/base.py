"""Shared detector plumbing: both generations' keywords, weights and backend, the detect() flow.

Options are stored under upstream 4.x's names (`confidence_threshold`,
`nms_threshold`, ...); 1.x's names (`conf_thresh`, `nms_thresh`) are
accepted as keywords and readable/settable as attributes, so 1.x code that
tweaks `detector.conf_thresh` keeps working.
"""

from __future__ import annotations

import logging
import os
from enum import Enum
from typing import Any, ClassVar

from runtime.face import detectors as post
from runtime.face.preprocess import ensure_bgr
from runtime.models import image_blob
from translator.image_input import ImageInput

import numpy as np

from .._runner import RunnerOwner, fixed_hw, resolve_weights, signature
from ..types import Face

log = logging.getLogger("uniface")

ALIASES = {"conf_thresh": "confidence_threshold", "nms_thresh": "nms_threshold"}


class BaseDetector(RunnerOwner):
    """Detector base: subclasses set `default_model`, `defaults`, `normalization` and implement
    `_forward(image) -> (dets, lms)`.

    `dets` are rows `[x1, y1, x2, y2, score]` and `lms` `[N, K, 2]` in image pixels. `normalization` is
    what the network expects of the 8-bit canvas: the runner reads the canvas itself (`_run_canvas`), or,
    with `UNIFACE_IMAGE_INPUT=0`, gets the float tensor `preprocess` makes from the same spec.
    """

    default_model: ClassVar[Enum]
    normalization: ClassVar[ImageInput]
    defaults: ClassVar[dict[str, Any]] = {}
    supports_landmarks: ClassVar[bool] = True
    supports_alignment: ClassVar[bool] = True  # landmarks are the 5-point ArcFace template order

    def __init__(
        self,
        *,
        model_name: Enum | None = None,
        model_path: str | os.PathLike | None = None,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        options = dict(self.defaults)
        for key, value in kwargs.items():
            name = ALIASES.get(key, key)
            if name not in self.defaults:
                raise TypeError(
                    f"{type(self).__name__}: unexpected keyword {key!r}; accepted: "
                    f"{sorted([*self.defaults, *(a for a, n in ALIASES.items() if n in self.defaults)])}"
                )
            if name != key and name in kwargs:
                raise TypeError(f"{type(self).__name__}: got both {key!r} and {name!r}; pass one")
            options[name] = value
        for key, value in options.items():
            setattr(self, key, value)
        self.model_name = model_name if model_name is not None else self.default_model
        self.providers = providers  # accepted for upstream compatibility; the ONNX backend runs on the CPU
        self.config = {"model_name": self.model_name, **options}
        self.model_path = resolve_weights(self.model_name, model_path)
        self._model_path = self.model_path  # upstream's attribute name
        self.inputs, self.outputs = signature(self.model_path)
        self.mode = mode
        self._backend_request = backend
        self.session = None

    # 1.x attribute names
    conf_thresh = property(
        lambda self: self.confidence_threshold, lambda self, v: setattr(self, "confidence_threshold", v)
    )
    nms_thresh = property(lambda self: self.nms_threshold, lambda self, v: setattr(self, "nms_threshold", v))

    def _open(self, input_shapes: dict[str, tuple[int, ...]] | None = None, dynamic: bool = False) -> None:
        self._open_runner(
            self.model_path,
            backend=self._backend_request,
            mode=self.mode,
            input_shapes=input_shapes,
            dynamic=dynamic,
            image_input=self.normalization,
        )
        self.input_names = self.inputs[0].name
        self.output_names = [o.name for o in self.outputs]

    def _fixed_input(self, size_wh: tuple[int, int]) -> dict[str, tuple[int, ...]] | None:
        """Check `size_wh` against a static model input; the concrete shape for a dynamic one."""
        h, w = fixed_hw(self.inputs[0])
        if h and w:
            if (w, h) != tuple(size_wh):
                raise ValueError(f"{self.model_path}: this model takes {w}x{h} inputs, not input_size={tuple(size_wh)}")
            return None
        return {self.inputs[0].name: (1, 3, size_wh[1], size_wh[0])}

    def _require_outputs(self, count: int, what: str) -> None:
        if len(self.outputs) != count:
            raise ValueError(
                f"{self.model_path}: expected {what} ({count} outputs), got {len(self.outputs)}: "
                f"{[o.name for o in self.outputs]}"
            )

    @property
    def backend(self) -> str:
        """The backend actually running this model ('mlx' or 'onnx')."""
        return self.session.backend

    def inference(self, input_tensor: np.ndarray) -> list[np.ndarray]:
        """Raw network outputs for a preprocessed `[1, 3, H, W]` tensor, in the graph's output order."""
        return self.tensor_session.run(input_tensor)

    def _run_canvas(self, canvas: np.ndarray) -> list[np.ndarray]:
        """Raw network outputs for the 8-bit BGR canvas (resized, letterboxed or padded as the model wants)."""
        if self.takes_images:
            return self.session.run_image(canvas)
        return self.session.run(image_blob(canvas, self.normalization))

    def detect(
        self, image: np.ndarray, max_num: int = 0, metric: str = "max", center_weight: float = 2.0
    ) -> list[Face]:
        """Faces in a BGR image, best first: `Face` objects that also read as 1.x dicts.

        `max_num > 0` keeps that many faces: the largest (`metric='max'`) or
        the largest near the image centre (any other metric).
        """
        image = ensure_bgr(image)
        dets, lms = self._forward(image)
        if len(dets) == 0:
            return []
        dets, lms = post.select_top(dets, lms, max_num, image.shape[:2], metric, center_weight)
        return [Face(bbox=d[:4], confidence=float(d[4]), landmarks=lm) for d, lm in zip(dets, lms)]

    __call__ = detect

    def _forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def get_info(self) -> dict[str, Any]:
        """Name, landmark/alignment support and configuration (upstream 4.x)."""
        return {
            "name": type(self).__name__,
            "supports_landmarks": self.supports_landmarks,
            "supports_alignment": self.supports_alignment,
            "config": self.config,
        }

    def __repr__(self) -> str:
        name = os.path.basename(self.model_path)
        return f"{type(self).__name__}(model={name!s}, backend={self.session.backend if self.session else None})"


def as_wh(size: int | tuple[int, int] | list) -> tuple[int, int]:
    """An input size given as an int or (width, height)."""
    if isinstance(size, int):
        return size, size
    w, h = size
    return int(w), int(h)


def square_size(name: str, size: int | tuple[int, int] | list) -> int:
    """A square input size given as an int or (s, s)."""
    w, h = as_wh(size)
    if w != h:
        raise ValueError(f"{name} needs a square input_size, got {size}")
    return w
