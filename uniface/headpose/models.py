"""HeadPose (yakhyo/head-pose-estimation): a 6D rotation regressed from a face crop, turned into Euler angles."""

from __future__ import annotations

import os
from enum import Enum

from runtime.face.imagenet import MEAN, STD, imagenet_input
from runtime.face.pose import rotation_to_euler
from runtime.face.preprocess import ensure_bgr

import numpy as np

from ..constants import HeadPoseWeights
from ..types import HeadPoseResult
from .base import BaseHeadPoseEstimator

__all__ = ["HeadPose"]


class HeadPose(BaseHeadPoseEstimator):
    """`estimate(face_crop) -> HeadPoseResult(pitch, yaw, roll)` in degrees.

    The network outputs the rotation matrix (its Gram-Schmidt step is in
    the graph); the angles are its ZYX decomposition.
    """

    default_model = HeadPoseWeights.RESNET18
    default_hw = (224, 224)

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
        if len(self.outputs) != 1:
            raise ValueError(f"{self.model_path}: expected 1 output (rotation_matrix), got {len(self.outputs)}")
        self.input_mean, self.input_std = MEAN, STD

    def preprocess(self, face_image: np.ndarray) -> np.ndarray:
        return imagenet_input(ensure_bgr(face_image), self.input_size)

    @staticmethod
    def rotation_matrix_to_euler(rotation_matrix: np.ndarray) -> np.ndarray:
        """(B, 3, 3) -> (B, 3) [pitch, yaw, roll] in degrees."""
        return rotation_to_euler(rotation_matrix)

    def postprocess(self, rotation_matrix: np.ndarray) -> HeadPoseResult:
        euler = rotation_to_euler(np.asarray(rotation_matrix).reshape(-1, 3, 3))
        return HeadPoseResult(pitch=float(euler[0, 0]), yaw=float(euler[0, 1]), roll=float(euler[0, 2]))

    def estimate(self, face_image: np.ndarray) -> HeadPoseResult:
        return self.postprocess(self._infer(self.preprocess(face_image)))
