"""FaceAttribNet (Qualcomm): five independent face-state probabilities from a letterboxed box crop."""

from __future__ import annotations

import os
from enum import Enum
from typing import Any

from runtime.face.attributes import face_state_crop, face_state_input
from runtime.face.preprocess import ensure_bgr

import numpy as np

from ..constants import FaceAttribNetWeights
from ..predictor import bbox_of
from ..types import Face, FaceStateResult
from .base import BaseAttribute

__all__ = ["FaceAttribNet"]


class FaceAttribNet(BaseAttribute):
    """`predict(image, face) -> FaceStateResult`; sets the Face's five state fields.

    Probabilities of left eye open, right eye open, eyeglasses, mask and
    sunglasses, each from its own binary head (threshold each one). The crop
    is the box grown by `margin` per side, letterboxed into the square input;
    the model normalizes inside its graph. `input_size` is (height, width)
    and must be square.
    """

    default_model = FaceAttribNetWeights.DEFAULT
    default_hw = (128, 128)

    def __init__(
        self,
        model_name: Enum | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        input_size: tuple[int, int] | None = None,
        margin: float = 0.0,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        hw = None if input_size is None else tuple(int(v) for v in input_size)
        if hw is not None and hw[0] != hw[1]:
            raise ValueError(f"input_size must be square, got {hw}")
        super().__init__(
            model_name, model_path=model_path, backend=backend, mode=mode, input_size=hw, providers=providers
        )
        if self.input_size[0] != self.input_size[1]:
            raise ValueError(
                f"{self.model_path}: FaceAttribNet needs a square input, the model takes {self.input_size}"
            )
        self.margin = margin

    def preprocess(self, image: np.ndarray, bbox: Any = None) -> np.ndarray:
        crop = face_state_crop(image, None if bbox is None else bbox_of(bbox), self.margin)
        return face_state_input(crop, self.input_size[0])

    def postprocess(self, prediction: np.ndarray) -> FaceStateResult:
        values = np.squeeze(prediction).astype(float).tolist()
        if len(values) != 5:
            raise ValueError(f"FaceAttribNet output has {len(values)} values, expected 5")
        return FaceStateResult(*values)

    def _run(self, image: np.ndarray, bbox: Any) -> FaceStateResult:
        return self.postprocess(self._infer(self.preprocess(ensure_bgr(image), bbox)))

    def compute(self, image: np.ndarray, face: Face) -> FaceStateResult:
        return self._run(image, face.bbox)

    def predict_legacy(self, image: np.ndarray, bbox: Any) -> FaceStateResult:
        return self._run(image, bbox)
