"""SCRFD (insightface): 2 anchors per location, distance-encoded boxes and keypoints."""

from __future__ import annotations

from typing import Any

from runtime.face import detectors as post
from runtime.face.preprocess import pad_to_multiple, resize_top_left
from runtime.models import image_blob
from translator.image_input import ImageInput

import numpy as np

from ..constants import SCRFDWeights
from .base import BaseDetector, as_wh


class SCRFD(BaseDetector):
    """SCRFD detector: BGR, `(x - 127.5) / 127.5`, resized into a top-left canvas of `input_size`.

    `dynamic_size=True` (our extension; upstream has it on RetinaFace only) feeds the image at its own
    size, zero-padded to a multiple of 32: one translation runs at every size.
    """

    default_model = SCRFDWeights.SCRFD_10G_KPS
    defaults = {
        "confidence_threshold": 0.5,
        "nms_threshold": 0.4,
        "input_size": (640, 640),
        "dynamic_size": False,
    }
    normalization = ImageInput(mean=127.5, std=127.5)  # BGR
    strides = (8, 16, 32)
    num_anchors = 2

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_size = as_wh(self.input_size)
        self._require_outputs(9, "SCRFD's score/bbox/kps heads for 3 strides")
        if self.dynamic_size:
            self._open(dynamic=True)
        else:
            self._open(self._fixed_input(self.input_size))

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        return image_blob(image, self.normalization)

    def _forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.dynamic_size:
            (canvas, _), factor = pad_to_multiple(image, 32), 1.0
        else:
            canvas, factor = resize_top_left(image, self.input_size)
        outputs = self._run_canvas(canvas)
        return post.scrfd(
            outputs,
            canvas.shape[:2],
            factor,
            self.confidence_threshold,
            self.nms_threshold,
            self.strides,
            self.num_anchors,
        )
