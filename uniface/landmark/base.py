"""Base for landmark models: `get_landmarks(image, bbox) -> (N, 2)` image-pixel points."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._model import OnnxModel


class BaseLandmarker(OnnxModel):
    """`get_landmarks(image, bbox)`; `bbox` may also be a `Face` or a 1.x detection dict."""

    def get_landmarks(self, image: np.ndarray, bbox: Any) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, image: np.ndarray, bbox: Any) -> np.ndarray:
        return self.get_landmarks(image, bbox)
