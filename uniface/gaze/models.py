"""MobileGaze (yakhyo/gaze-estimation): binned yaw/pitch classification on a face crop, Gaze360 bins."""

from __future__ import annotations

import os
from enum import Enum

from runtime.face.imagenet import MEAN, STD, imagenet_input
from runtime.face.pose import GAZE_BIN_WIDTH, GAZE_BINS, GAZE_OFFSET, gaze_angles
from runtime.face.preprocess import ensure_bgr

import numpy as np

from ..constants import GazeWeights
from ..types import GazeResult
from .base import BaseGazeEstimator

__all__ = ["MobileGaze"]


class MobileGaze(BaseGazeEstimator):
    """`estimate(face_crop) -> GazeResult` in radians; the crop is any BGR face image (e.g. the box region).

    The two outputs are 90-bin logits for yaw and pitch; the angle is the
    softmax-expected bin x 4 degrees - 180. Input size is read from the model.
    """

    default_model = GazeWeights.RESNET34
    default_hw = (448, 448)

    def __init__(
        self,
        model_name: Enum | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        super().__init__(model_name, model_path=model_path, backend=backend, mode=mode, providers=providers)
        if len(self.outputs) != 2:
            raise ValueError(f"{self.model_path}: expected 2 outputs (yaw, pitch), got {len(self.outputs)}")
        self.input_mean, self.input_std = MEAN.tolist(), STD.tolist()
        self._bins, self._binwidth, self._angle_offset = GAZE_BINS, GAZE_BIN_WIDTH, GAZE_OFFSET

    def preprocess(self, face_image: np.ndarray) -> np.ndarray:
        return imagenet_input(ensure_bgr(face_image), self.input_size)

    def postprocess(self, outputs: tuple[np.ndarray, np.ndarray]) -> GazeResult:
        pitch, yaw = gaze_angles(outputs[0], outputs[1])
        return GazeResult(pitch=pitch, yaw=yaw)

    def estimate(self, face_image: np.ndarray) -> GazeResult:
        yaw, pitch = self.session.run({self.input_name: self.preprocess(face_image)})
        return self.postprocess((yaw, pitch))
