"""Face recognizers: aligned 112x112 crop -> embedding."""

from __future__ import annotations

from runtime.face.alignment import face_alignment
from runtime.face.embedding import l2_normalize
from runtime.face.preprocess import blob, ensure_bgr

import cv2
import numpy as np

from .._model import OnnxModel


class BaseRecognizer(OnnxModel):
    """Aligns with the ArcFace template, feeds RGB `(x - 127.5) / 127.5`, returns the raw embedding."""

    input_mean = 127.5
    input_std = 127.5

    def preprocess(self, face_img: np.ndarray) -> np.ndarray:
        """Aligned BGR crop -> [1, 3, H, W] blob."""
        if face_img.shape[1::-1] != self.input_size:
            face_img = cv2.resize(face_img, self.input_size)
        return blob(face_img, self.input_size, self.input_mean, self.input_std, swap_rb=True)

    def get_embedding(self, image: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """Embedding `[1, D]` of the face at `landmarks` (5x2); without landmarks `image` is taken as an aligned crop."""
        image = ensure_bgr(image)
        if landmarks is not None:
            image, _ = face_alignment(image, np.asarray(landmarks, dtype=np.float32), self.input_size[0])
        return self._infer(self.preprocess(image))

    def get_normalized_embedding(self, image: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """L2-normalized embedding `[1, D]` (compare with a dot product or `compute_similarity`)."""
        return l2_normalize(self.get_embedding(image, landmarks))

    __call__ = get_normalized_embedding
