"""CenterFace: one stride-4 map with heatmap, box size, centre offset and 5 landmarks (uniface 4.x)."""

from __future__ import annotations

from typing import Any

from runtime.face import centerface

import numpy as np

from ..constants import CenterFaceWeights
from .base import BaseDetector, as_wh


class CenterFace(BaseDetector):
    """CenterFace detector: raw RGB, sides rounded up to multiples of 32.

    `input_size` (w, h) caps the inference resolution (larger images are
    scaled down to fit, smaller ones are not enlarged); None runs every image
    at its own size. The network is dynamic in height and width: on MLX each
    new input shape is translated once and cached.
    """

    default_model = CenterFaceWeights.DEFAULT
    defaults = {"confidence_threshold": 0.35, "nms_threshold": 0.3, "input_size": (640, 640)}
    normalization = centerface.NORMALIZATION

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.input_size is not None:
            self.input_size = as_wh(self.input_size)
            if min(self.input_size) <= 0:
                raise ValueError(f"input_size must be strictly positive, got {self.input_size}")
        self._require_outputs(4, "CenterFace's heatmap, scale, offset and landmark heads")
        self._open(None)

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        return centerface.to_input(image)

    def _forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        resized, sx, sy = centerface.resize(image, self.input_size)
        outputs = self._run_canvas(resized)
        return centerface.postprocess(
            outputs, resized.shape[:2], (sx, sy), self.confidence_threshold, self.nms_threshold
        )
