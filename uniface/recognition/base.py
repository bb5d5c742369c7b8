"""Face recognizers: 5-landmark aligned crop -> embedding (both generations' API).

`get_embedding` returns the raw `(1, D)` network output (as in 1.x and 4.x);
`get_normalized_embedding` returns the unit-length embedding as a 1-D `(D,)`
vector, as 4.x does (1.x returned `(1, D)`; `compute_similarity`, `np.dot`
and `Face.compute_similarity` accept either).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum

from runtime.face.alignment import face_alignment
from runtime.face.embedding import l2_normalize
from runtime.face.preprocess import blob, ensure_bgr, normalize_channels

import cv2
import numpy as np

from .._model import OnnxModel


@dataclass
class PreprocessConfig:
    """Normalization of the aligned crop: `(x - input_mean) / input_std`, scalars or per channel (RGB)."""

    input_mean: float | list[float] = 127.5
    input_std: float | list[float] = 127.5
    input_size: tuple[int, int] = (112, 112)


class BaseRecognizer(OnnxModel):
    """Aligns with the ArcFace template, normalizes (RGB unless `swap_rb` is False), embeds.

    `BaseRecognizer(model_name=None, preprocessing=None, *, model_path=None,
    backend=None, providers=None)`: `model_name` and `preprocessing`
    positional as in 1.x, or keywords as in 4.x.
    """

    swap_rb = True  # RGB input; AdaFace keeps BGR

    def __init__(
        self,
        model_name: Enum | None = None,
        preprocessing: PreprocessConfig | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        self.preprocessing = preprocessing or PreprocessConfig()
        self.input_mean = self.preprocessing.input_mean
        self.input_std = self.preprocessing.input_std
        super().__init__(
            model_name,
            model_path=model_path,
            backend=backend,
            mode=mode,
            input_size=tuple(self.preprocessing.input_size) if preprocessing is not None else None,
            providers=providers,
        )
        if len(self.outputs) != 1:
            raise ValueError(f"{self.model_path}: expected one embedding output, got {self.output_names}")

    def preprocess(self, face_img: np.ndarray) -> np.ndarray:
        """Aligned BGR crop -> `[1, 3, H, W]` blob (resized to the input size first)."""
        resized = cv2.resize(face_img, self.input_size)
        if isinstance(self.input_std, (list, tuple)):
            return normalize_channels(resized, self.input_mean, self.input_std, swap_rb=self.swap_rb)
        return blob(resized, self.input_size, self.input_mean, self.input_std, swap_rb=self.swap_rb)

    def get_embedding(self, image: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """Raw embedding `(1, D)` of the face at `landmarks` (5x2); without landmarks `image` is an aligned crop."""
        image = ensure_bgr(image)
        if landmarks is not None:
            image, _ = face_alignment(image, np.asarray(landmarks), self.input_size)
        return self._infer(self.preprocess(image))

    def get_normalized_embedding(self, image: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """Unit-length embedding `(D,)` (compare with a dot product or `compute_similarity`)."""
        return l2_normalize(self.get_embedding(image, landmarks).ravel())

    __call__ = get_normalized_embedding
