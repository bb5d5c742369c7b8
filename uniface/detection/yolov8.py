"""YOLOv8-Face: anchor-free heads with DFL box regression and 5 keypoints (uniface 4.x)."""

from __future__ import annotations

from typing import Any

from runtime.face import yolov8
from runtime.face.preprocess import letterbox_center
from runtime.models import image_blob

import numpy as np

from ..constants import YOLOv8FaceWeights
from .base import BaseDetector, square_size
from .yolov5 import YOLO_NORMALIZATION, check_nms_mode


class YOLOv8Face(BaseDetector):
    """YOLOv8-Face detector: RGB `/ 255`, centred letterbox padded with 114; three `[1, 80, H, W]` heads."""

    default_model = YOLOv8FaceWeights.YOLOV8N
    defaults = {
        "confidence_threshold": 0.5,
        "nms_threshold": 0.45,
        "input_size": 640,
        "nms_mode": "numpy",
        "max_det": 750,
    }
    normalization = YOLO_NORMALIZATION
    strides = yolov8.STRIDES

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_size = square_size(type(self).__name__, self.input_size)
        self.nms_mode = check_nms_mode(self.nms_mode)
        self._require_outputs(len(self.strides), "one [1, 80, H, W] head per stride")
        self._open(self._fixed_input((self.input_size, self.input_size)))

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, float, tuple[int, int]]:
        canvas, scale, pad = letterbox_center(image, self.input_size)
        return image_blob(canvas, self.normalization), scale, pad

    def _forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        canvas, scale, pad = letterbox_center(image, self.input_size)
        heads = self._run_canvas(canvas)
        return yolov8.postprocess(
            heads,
            scale,
            pad,
            image.shape[:2],
            self.confidence_threshold,
            self.nms_threshold,
            self.max_det,
            self.strides,
        )
