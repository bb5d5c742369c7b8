"""106-point landmarks (insightface 2d106det: 192x192 crop, normalization inside the graph)."""

from __future__ import annotations

from runtime.face.alignment import bbox_center_alignment, transform_points_2d
from runtime.face.preprocess import blob, ensure_bgr

import cv2
import numpy as np

from .._model import OnnxModel
from ..constants import LandmarkWeights


class Landmark106(OnnxModel):
    """`get_landmarks(image, bbox) -> (106, 2)` points in image pixels."""

    default_model = LandmarkWeights.DEFAULT
    default_hw = (192, 192)
    lmk_num = 106

    def preprocess(self, image: np.ndarray, bbox: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bbox = np.asarray(bbox, dtype=np.float64)
        width, height = bbox[2] - bbox[0], bbox[3] - bbox[1]
        center = ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
        size = self.input_size[0]
        scale = size / (max(width, height) * 1.5)
        crop, matrix = bbox_center_alignment(image, center, size, scale, 0.0)
        return blob(crop, self.input_size, mean=0.0, std=1.0, swap_rb=True), matrix

    def postprocess(self, prediction: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """Model output in [-1, 1] crop units -> image pixels."""
        pts = prediction.reshape(-1, 2).astype(np.float32)
        pts = (pts + 1) * (self.input_size[0] // 2)
        return transform_points_2d(pts, cv2.invertAffineTransform(matrix))

    def get_landmarks(self, image: np.ndarray, bbox: np.ndarray) -> np.ndarray:
        """(106, 2) landmarks of the face in `bbox` ([x1, y1, x2, y2])."""
        tensor, matrix = self.preprocess(ensure_bgr(image), bbox)
        return self.postprocess(self._infer(tensor)[0], matrix)

    __call__ = get_landmarks
