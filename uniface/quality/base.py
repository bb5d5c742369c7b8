"""Base for face image quality models: `predict(image, landmarks) -> QualityResult` (higher is better)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._model import OnnxModel
from ..predictor import is_face, landmarks_of, write_result
from ..types import QualityResult

__all__ = ["BaseQualityEstimator", "QualityResult"]


class BaseQualityEstimator(OnnxModel):
    """Scores an aligned face crop; `predict` aligns from 5 landmarks first.

    Our extension: given a `Face` instead of landmarks, `predict` uses its
    landmarks and also sets `face.quality` (the Face field 4.x reserves for
    eDifFIQA), so the estimator works as a FaceAnalyzer predictor.
    """

    def score_aligned(self, aligned_face: np.ndarray) -> QualityResult:
        raise NotImplementedError

    def align(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, image: np.ndarray, landmarks: Any) -> QualityResult:
        result = self.score_aligned(self.align(image, landmarks_of(landmarks)))
        if is_face(landmarks):
            write_result(landmarks, result)
        return result

    def __call__(self, image: np.ndarray, landmarks: Any) -> QualityResult:
        return self.predict(image, landmarks)
