"""Base for face parsers: `parse(image, *, landmarks=None) -> mask` ('class_ids' uint8 or 'probability' float32)."""

from __future__ import annotations

import numpy as np

from .._model import OnnxModel

__all__ = ["BaseFaceParser"]


class BaseFaceParser(OnnxModel):
    """A model that segments a face; `mask_type` says what the mask holds."""

    mask_type: str

    def parse(self, image: np.ndarray, *, landmarks: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, image: np.ndarray, *, landmarks: np.ndarray | None = None) -> np.ndarray:
        return self.parse(image, landmarks=landmarks)
