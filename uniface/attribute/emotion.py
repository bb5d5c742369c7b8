"""Emotion (DDAMFN slots; runs an ONNX export: aligned 112x112, ImageNet normalization)."""

from __future__ import annotations

import os
from enum import Enum
from typing import Any

from runtime.face.alignment import face_alignment
from runtime.face.preprocess import ensure_bgr, to_nchw

import cv2
import numpy as np

from ..constants import EMOTION_ONNX, DDAMFNWeights
from ..predictor import landmarks_of
from ..types import EmotionResult, Face
from .base import BaseAttribute

EMOTIONS_7 = ["Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Angry"]
EMOTIONS_8 = EMOTIONS_7 + ["Contempt"]
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class Emotion(BaseAttribute):
    """Emotion from an aligned crop; 7 or 8 classes, read from the model's output.

    `predict(image, face)` returns an `EmotionResult` and sets
    `face.emotion` / `face.emotion_confidence`; `predict(image, landmarks)`
    (the 1.x call) returns `(label, confidence)`. Upstream ships these slots
    as TorchScript only, so this class runs an ONNX export placed at
    `<cache>/affecnet7.onnx` (or given as `model_path=`).
    """

    default_model = DDAMFNWeights.AFFECNET7

    def __init__(
        self,
        model_weights: Enum | None = None,
        *,
        model_name: Enum | None = None,
        model_path: str | os.PathLike | None = None,
        **kwargs,
    ) -> None:
        super().__init__(model_name or model_weights, model_path=model_path, **kwargs)
        classes = self.outputs[0].shape[-1]
        if classes not in (7, 8):
            classes = 8 if self.model_name == DDAMFNWeights.AFFECNET8 else 7
        self.emotion_labels = list(EMOTIONS_8 if classes == 8 else EMOTIONS_7)

    def preprocess(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        # As given (float32 from a detector): the alignment's precision follows the landmarks' dtype, as upstream's.
        aligned, _ = face_alignment(image, np.asarray(landmarks))
        rgb = cv2.cvtColor(aligned, cv2.COLOR_BGR2RGB)
        rgb = cv2.resize(rgb, self.input_size).astype(np.float32) / 255.0
        return to_nchw((rgb - IMAGENET_MEAN) / IMAGENET_STD)

    def postprocess(self, logits: np.ndarray) -> tuple[str, float]:
        z = logits.reshape(-1).astype(np.float64)
        p = np.exp(z - z.max())
        p /= p.sum()
        idx = int(np.argmax(p))
        return self.emotion_labels[idx], float(p[idx])

    def _registry_entry(self):
        return EMOTION_ONNX.get(self.model_name)

    def compute(self, image: np.ndarray, face: Face) -> EmotionResult:
        label, confidence = self.predict_legacy(image, face.landmarks)
        return EmotionResult(emotion=label, confidence=confidence)

    def predict_legacy(self, image: np.ndarray, landmarks: Any) -> tuple[str, float]:
        """(emotion label, softmax confidence) of the face at `landmarks` (5x2), the 1.x call."""
        return self.postprocess(self._infer(self.preprocess(ensure_bgr(image), landmarks_of(landmarks))))
