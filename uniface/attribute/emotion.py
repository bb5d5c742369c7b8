"""Emotion (DDAMFN slots; runs an ONNX export: aligned 112x112, ImageNet normalization)."""

from __future__ import annotations

import os
from enum import Enum

from runtime.face.alignment import face_alignment
from runtime.face.preprocess import ensure_bgr, to_nchw

import cv2
import numpy as np

from .._model import OnnxModel
from ..constants import DDAMFNWeights

EMOTIONS_7 = ["Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Angry"]
EMOTIONS_8 = EMOTIONS_7 + ["Contempt"]
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class Emotion(OnnxModel):
    """`predict(image, landmarks) -> (label, confidence)`; 7 or 8 classes, read from the model's output."""

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
        aligned, _ = face_alignment(image, np.asarray(landmarks, dtype=np.float32))
        rgb = cv2.cvtColor(aligned, cv2.COLOR_BGR2RGB)
        rgb = cv2.resize(rgb, self.input_size).astype(np.float32) / 255.0
        return to_nchw((rgb - IMAGENET_MEAN) / IMAGENET_STD)

    def postprocess(self, logits: np.ndarray) -> tuple[str, float]:
        z = logits.reshape(-1).astype(np.float64)
        p = np.exp(z - z.max())
        p /= p.sum()
        idx = int(np.argmax(p))
        return self.emotion_labels[idx], float(p[idx])

    def predict(self, image: np.ndarray, landmarks: np.ndarray) -> tuple[str, float]:
        """(emotion label, softmax confidence) of the face at `landmarks` (5x2)."""
        return self.postprocess(self._infer(self.preprocess(ensure_bgr(image), landmarks)))

    __call__ = predict
