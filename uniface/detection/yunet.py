"""YuNet (OpenCV Zoo): decoded exactly as OpenCV's FaceDetectorYN does."""

from __future__ import annotations

from typing import Any

from runtime.face import detectors as post
from runtime.face.preprocess import pad_to_multiple, resize_top_left
from runtime.models import image_blob
from translator.image_input import ImageInput

import numpy as np

from ..constants import YuNetWeights
from .base import BaseDetector, as_wh


class YuNet(BaseDetector):
    """YuNet detector: BGR, no normalization; the image is fit into `input_size` (top-left, aspect kept).

    `dynamic_size=True` feeds the image at its own size (padded to a multiple of 32), as OpenCV's
    FaceDetectorYN does when its input size is set to the image's: the ONNX file declares 640x640, but
    its graph computes every shape from its input, so one translation runs at every size.
    """

    default_model = YuNetWeights.DEFAULT
    defaults = {
        "confidence_threshold": 0.9,
        "nms_threshold": 0.3,
        "input_size": (640, 640),
        "top_k": 5000,
        "dynamic_size": False,
    }
    normalization = ImageInput(mean=0.0, std=1.0)  # BGR pixels as they are
    strides = (8, 16, 32)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_size = as_wh(self.input_size)
        names = {o.name for o in self.outputs}
        missing = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in self.strides if f"{k}_{s}" not in names]
        if missing:
            raise ValueError(f"{self.model_path}: not a YuNet export (missing outputs {missing})")
        w, h = self.input_size
        self._pad_wh = (((w - 1) // 32 + 1) * 32, ((h - 1) // 32 + 1) * 32)
        if self.dynamic_size:
            self._open(dynamic=True)
        else:
            self._open(self._fixed_input(self._pad_wh))

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        padded, pad_wh = pad_to_multiple(image, 32)
        return image_blob(padded, self.normalization), pad_wh

    def _forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.dynamic_size:
            canvas, factor = image, 1.0
        else:
            canvas, factor = resize_top_left(image, self.input_size)
        padded, pad_wh = pad_to_multiple(canvas, 32)
        outputs = dict(zip(self.output_names, self._run_canvas(padded)))
        return post.yunet(
            outputs, pad_wh, factor, self.confidence_threshold, self.nms_threshold, self.top_k, self.strides
        )
