"""RetinaFace (MobileNet/ResNet backbones, 3 heads: loc, softmaxed conf, 5 landmarks)."""

from __future__ import annotations

from typing import Any

from runtime.face import detectors as post
from runtime.face.preprocess import resize_top_left
from runtime.face.priors import retinaface_priors
from runtime.models import image_blob
from translator.image_input import ImageInput

import numpy as np

from .._runner import fixed_hw
from ..constants import RetinaFaceWeights
from .base import BaseDetector, as_wh


class RetinaFace(BaseDetector):
    """RetinaFace detector: BGR minus (104, 117, 123), resized into a top-left canvas of `input_size`.

    `dynamic_size=True` feeds the image at its own size (needs a model with
    dynamic height/width; on MLX one translation runs at every size).
    """

    default_model = RetinaFaceWeights.MNET_V2
    defaults = {
        "confidence_threshold": 0.5,
        "nms_threshold": 0.4,
        "input_size": (640, 640),
        "pre_nms_topk": 5000,
        "post_nms_topk": 750,
        "dynamic_size": False,
    }
    normalization = ImageInput(mean=(104.0, 117.0, 123.0), std=1.0)  # BGR

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_size = as_wh(self.input_size)
        self._priors: dict[tuple[int, int], np.ndarray] = {}
        if self.dynamic_size:
            h, w = fixed_hw(self.inputs[0])
            if h and w:
                raise ValueError(f"{self.model_path}: fixed {w}x{h} input; dynamic_size=True needs a dynamic export")
            self._open(dynamic=True)
        else:
            self._open(self._fixed_input(self.input_size))

    def priors(self, height: int, width: int) -> np.ndarray:
        """Priors for an input of (height, width), cached per size."""
        key = (height, width)
        if key not in self._priors:
            self._priors[key] = retinaface_priors(key)
        return self._priors[key]

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        return image_blob(image, self.normalization)

    def _forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.dynamic_size:
            canvas, factor = image, 1.0
        else:
            canvas, factor = resize_top_left(image, self.input_size)
        h, w = canvas.shape[:2]
        outputs = self._run_canvas(canvas)
        return post.retinaface(
            outputs,
            self.priors(h, w),
            (w, h),
            factor,
            self.confidence_threshold,
            self.nms_threshold,
            self.pre_nms_topk,
            self.post_nms_topk,
        )
