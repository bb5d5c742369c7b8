"""106-point landmarks (insightface 2d106det: 192x192 crop, normalization inside the graph)."""

from __future__ import annotations

import os
from enum import Enum
from typing import Any

from runtime.face.alignment import bbox_center_alignment, transform_points_2d
from runtime.face.preprocess import blob, ensure_bgr

import cv2
import numpy as np

from ..constants import LandmarkWeights
from ..predictor import bbox_of
from .base import BaseLandmarker


class Landmark106(BaseLandmarker):
    """`get_landmarks(image, bbox) -> (106, 2)` points in image pixels.

    `Landmark106(model_name, input_size)` positional as in 1.x (`input_size`
    is read from the model, so it only has to agree with it).
    """

    default_model = LandmarkWeights.DEFAULT
    default_hw = (192, 192)

    def __init__(
        self,
        model_name: Enum | None = None,
        input_size: tuple[int, int] | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        super().__init__(
            model_name, model_path=model_path, backend=backend, mode=mode, input_size=input_size, providers=providers
        )
        self.input_mean, self.input_std = 0.0, 1.0
        self.lmk_dim = 2
        out = self.outputs[0].shape[-1] if self.outputs[0].shape else None
        self.lmk_num = out // 2 if isinstance(out, int) else 106

    def preprocess(self, image: np.ndarray, bbox: Any) -> tuple[np.ndarray, np.ndarray]:
        bbox = bbox_of(bbox)
        width, height = bbox[2] - bbox[0], bbox[3] - bbox[1]
        center = ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
        size = self.input_size[0]
        scale = size / (max(width, height) * 1.5)
        crop, matrix = bbox_center_alignment(image, center, size, scale, 0.0)
        return blob(crop, self.input_size, mean=self.input_mean, std=self.input_std, swap_rb=True), matrix

    def postprocess(self, prediction: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """Model output in [-1, 1] crop units -> image pixels."""
        pts = prediction.reshape(-1, 2).astype(np.float32)
        pts = (pts + 1) * (self.input_size[0] // 2)
        return transform_points_2d(pts, cv2.invertAffineTransform(matrix))

    def get_landmarks(self, image: np.ndarray, bbox: Any) -> np.ndarray:
        """(106, 2) landmarks of the face in `bbox` ([x1, y1, x2, y2], a Face, or a 1.x dict)."""
        tensor, matrix = self.preprocess(ensure_bgr(image), bbox)
        return self.postprocess(self._infer(tensor)[0], matrix)
