"""Base for head-pose estimators: `estimate(face_crop) -> HeadPoseResult` (degrees)."""

from __future__ import annotations

import numpy as np

from .._model import OnnxModel
from ..types import HeadPoseResult

__all__ = ["BaseHeadPoseEstimator", "HeadPoseResult"]


class BaseHeadPoseEstimator(OnnxModel):
    """A model that reads head rotation from a face crop (BGR)."""

    def estimate(self, face_image: np.ndarray) -> HeadPoseResult:
        raise NotImplementedError

    def __call__(self, face_image: np.ndarray) -> HeadPoseResult:
        return self.estimate(face_image)
