"""YOLOv5-Face: decoded `[1, N, 16]` exports (upstream's), or raw per-stride heads decoded here."""

from __future__ import annotations

from typing import Any

from runtime.face import decode
from runtime.face import detectors as post
from runtime.face.preprocess import letterbox_center
from runtime.models import image_blob
from translator.image_input import ImageInput

import numpy as np

from ..constants import YOLOv5FaceWeights
from .base import BaseDetector, log, square_size

NMS_MODES = ("numpy", "torchvision")
YOLO_NORMALIZATION = ImageInput(mean=0.0, std=255.0, bgr_to_rgb=True)  # RGB / 255, both YOLO generations


def check_nms_mode(mode: str) -> str:
    """Upstream's `nms_mode`: 'torchvision' is accepted and runs the same NMS in numpy (no torch here)."""
    if mode not in NMS_MODES:
        raise ValueError(f"nms_mode must be one of {NMS_MODES}, got {mode!r}")
    if mode == "torchvision":
        log.info("nms_mode='torchvision': using the numpy NMS (same suppression rule)")
    return mode


class YOLOv5Face(BaseDetector):
    """YOLOv5-Face detector: RGB `/ 255`, centred letterbox padded with 114.

    Works with uniface's decoded exports (one `[1, 25200, 16]` output) and with
    exports that stop at the raw `[1, 3, H, W, 16]` heads (sigmoid and the
    grid/anchor decoding are then applied here, as the reference Detect layer does).
    """

    default_model = YOLOv5FaceWeights.YOLOV5S
    defaults = {
        "confidence_threshold": 0.6,
        "nms_threshold": 0.5,
        "input_size": 640,
        "nms_mode": "numpy",
        "max_det": 750,
    }
    normalization = YOLO_NORMALIZATION

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_size = square_size(type(self).__name__, self.input_size)
        self.nms_mode = check_nms_mode(self.nms_mode)
        self.raw_heads = len(self.outputs) == 3 and all(len(o.shape) == 5 for o in self.outputs)
        if not self.raw_heads and len(self.outputs) != 1:
            raise ValueError(
                f"{self.model_path}: expected one decoded output or three raw stride heads, got {len(self.outputs)} outputs"
            )
        self._open(self._fixed_input((self.input_size, self.input_size)))

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, float, tuple[int, int]]:
        canvas, scale, pad = letterbox_center(image, self.input_size)
        return image_blob(canvas, self.normalization), scale, pad

    def _decoded(self, outputs: list[np.ndarray]) -> np.ndarray:
        if not self.raw_heads:
            return outputs[0]
        heads = sorted(outputs, key=lambda o: -o.shape[2])  # stride 8 (largest grid) first
        strides = tuple(self.input_size // h.shape[2] for h in heads)
        return decode.yolov5_face_heads(heads, strides)

    def _forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        canvas, scale, pad = letterbox_center(image, self.input_size)
        decoded = self._decoded(self._run_canvas(canvas))
        return post.yolov5_face(decoded, scale, pad, self.confidence_threshold, self.nms_threshold, self.max_det)
