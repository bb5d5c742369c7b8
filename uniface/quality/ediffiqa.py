"""eDifFIQA face image quality (yakhyo/face-image-quality-assessment exports): one score per aligned face."""

from __future__ import annotations

import os
from enum import Enum

from runtime.face.alignment import face_alignment
from runtime.face.preprocess import blob, ensure_bgr

import numpy as np

from ..constants import EDifFIQAWeights
from ..types import QualityResult
from .base import BaseQualityEstimator

__all__ = ["EDifFIQA"]


class EDifFIQA(BaseQualityEstimator):
    """`predict(image, landmarks) -> QualityResult(score)`; `score_aligned(crop)` for a 112x112 aligned face.

    The crop is the ArcFace-template alignment, fed RGB as `(x - 127.5) / 127.5`.
    """

    default_model = EDifFIQAWeights.T
    default_hw = (112, 112)

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
        self.normalization_mean = 127.5
        self.normalization_std = 127.5
        self.output_name = self.output_names[0]

    def preprocess(self, aligned_face: np.ndarray) -> np.ndarray:
        return blob(aligned_face, self.input_size, mean=self.normalization_mean, std=self.normalization_std)

    def align(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return face_alignment(ensure_bgr(image), np.asarray(landmarks, dtype=np.float32))[0]

    def score_aligned(self, aligned_face: np.ndarray) -> QualityResult:
        output = self._infer(self.preprocess(ensure_bgr(aligned_face)))
        return QualityResult(score=float(np.squeeze(output)))
