"""MODNet trimap-free portrait matting: the image at a multiple-of-32 size near `input_size`, sigmoid matte."""

from __future__ import annotations

import os
from enum import Enum

from runtime.face.matting import modnet_input, modnet_matte, modnet_size
from runtime.face.preprocess import ensure_bgr

import numpy as np

from ..constants import MODNetWeights
from .base import BaseMatting

__all__ = ["MODNet"]


class MODNet(BaseMatting):
    """`predict(image) -> (H, W) float32` alpha matte at the image's size.

    `input_size` is the target short side: an image entirely smaller or
    larger than it is rescaled so its short side matches (aspect kept), then
    both sides are floored to multiples of 32. Each distinct working size is
    translated once on MLX.
    """

    default_model = MODNetWeights.PHOTOGRAPHIC

    def __init__(
        self,
        model_name: Enum | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        input_size: int = 512,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        super().__init__(model_name, model_path=model_path, backend=backend, mode=mode, providers=providers)
        self.input_size = int(input_size)  # upstream's meaning: the target short side

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) the network runs at for an image of this size."""
        return modnet_size(height, width, self.input_size)

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, int, int]:
        """(tensor [1, 3, H', W'] in [-1, 1], original height, original width)."""
        return modnet_input(image, self.input_size), image.shape[0], image.shape[1]

    def postprocess(self, outputs: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
        return modnet_matte(outputs, original_size)

    def predict(self, image: np.ndarray) -> np.ndarray:
        tensor, h, w = self.preprocess(ensure_bgr(image))
        return self.postprocess(self._infer(tensor), (w, h))
