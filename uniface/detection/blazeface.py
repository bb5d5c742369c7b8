"""BlazeFace short-range (MediaPipe): 128x128 letterbox, 896 SSD anchors, weighted NMS, 6 keypoints (uniface 4.x)."""

from __future__ import annotations

from typing import Any

from runtime.face import blazeface

import numpy as np

from ..constants import BlazeFaceWeights
from .base import BaseDetector


class BlazeFace(BaseDetector):
    """BlazeFace detector: RGB `(x - 127.5) / 127.5`; overlapping candidates are score-averaged, not dropped.

    Its 6 keypoints (eyes, nose tip, mouth centre, ear tragions) do not fit
    the 5-point alignment template: `supports_alignment` is False, and
    FaceAnalyzer turns recognition off for it.
    """

    default_model = BlazeFaceWeights.DEFAULT
    defaults = {"confidence_threshold": 0.5, "nms_threshold": 0.3}
    supports_alignment = False
    normalization = blazeface.NORMALIZATION

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._require_outputs(2, "BlazeFace's regressors and classificators")
        size = self.inputs[0].shape[2]
        if not isinstance(size, int) or size <= 0 or self.inputs[0].shape[3] != size:
            raise ValueError(f"{self.model_path}: expected a fixed square input, got {self.inputs[0].shape}")
        self.input_size = size
        self.anchors = blazeface.anchors(size)
        self._open(None)

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """A letterboxed canvas -> the network input."""
        return blazeface.to_input(image)

    def _forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        canvas, *params = blazeface.letterbox(image, self.input_size)
        outputs = self._run_canvas(canvas)
        return blazeface.postprocess(
            outputs, self.anchors, self.input_size, tuple(params), self.confidence_threshold, self.nms_threshold
        )
