"""Base for gaze estimators: `estimate(face_crop) -> GazeResult` (radians; pitch up, yaw right)."""

from __future__ import annotations

import numpy as np

from .._model import OnnxModel
from ..types import GazeResult

__all__ = ["BaseGazeEstimator", "GazeResult"]


class BaseGazeEstimator(OnnxModel):
    """A model that reads gaze direction from a face crop (BGR)."""

    def estimate(self, face_image: np.ndarray) -> GazeResult:
        raise NotImplementedError

    def __call__(self, face_image: np.ndarray) -> GazeResult:
        return self.estimate(face_image)
