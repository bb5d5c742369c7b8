"""Base for matting models: `predict(image) -> (H, W) float32` alpha matte in [0, 1]."""

from __future__ import annotations

import numpy as np

from .._model import OnnxModel

__all__ = ["BaseMatting"]


class BaseMatting(OnnxModel):
    """A model that separates a portrait from its background over the whole image (no face box needed)."""

    dynamic_input = True  # matting runs at the image's own (rounded) size

    def predict(self, image: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.predict(image)
