"""Base for per-face attribute models: `predict(image, face)` computes, writes into the Face, returns the result."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._model import OnnxModel
from ..predictor import is_face, write_result
from ..types import DemographyResult, EmotionResult, Face, FaceStateResult

__all__ = ["BaseAttribute", "DemographyResult", "EmotionResult", "FaceStateResult"]


class BaseAttribute(OnnxModel):
    """An ONNX attribute model usable as a FaceAnalyzer predictor (see `uniface.predictor`).

    Subclasses implement `compute(image, face) -> result dataclass`. Given
    something that is not a `Face` (a 1.x call with a box or landmarks),
    `predict` hands it to `predict_legacy`, which subclasses with a 1.x
    signature override.
    """

    def compute(self, image: np.ndarray, face: Face) -> Any:
        raise NotImplementedError

    def predict(self, image: np.ndarray, face: Any) -> Any:
        if not is_face(face):
            return self.predict_legacy(image, face)
        result = self.compute(image, face)
        write_result(face, result)
        return result

    def predict_legacy(self, image: np.ndarray, value: Any) -> Any:
        raise TypeError(f"{type(self).__name__}.predict(image, face) expects a Face, got {type(value).__name__}")

    def __call__(self, image: np.ndarray, face: Any) -> Any:
        return self.predict(image, face)
