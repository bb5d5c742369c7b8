"""BiSeNet face parsing (yakhyo/face-parsing): 19 CelebAMask-HQ classes per pixel of a face crop."""

from __future__ import annotations

import os
from enum import Enum

from runtime.face.imagenet import MEAN, STD, imagenet_input
from runtime.face.preprocess import ensure_bgr
from runtime.face.segmentation import PARSING_LABELS, class_map

import numpy as np

from ..constants import ParsingWeights
from .base import BaseFaceParser

__all__ = ["PARSING_LABELS", "BiSeNet"]


class BiSeNet(BaseFaceParser):
    """`parse(face_crop) -> (H, W) uint8` class ids (0 background ... 18 hat) at the crop's size.

    Landmarks are accepted and ignored (BiSeNet works on the crop as given).
    """

    mask_type = "class_ids"
    default_model = ParsingWeights.RESNET18
    default_hw = (512, 512)

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
        self.input_mean, self.input_std = MEAN, STD

    def preprocess(self, face_image: np.ndarray) -> np.ndarray:
        return imagenet_input(face_image, self.input_size)

    def postprocess(self, outputs: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
        """Per-pixel argmax, resized (nearest) to `original_size` (width, height)."""
        return class_map(outputs, original_size)

    def parse(self, image: np.ndarray, *, landmarks: np.ndarray | None = None) -> np.ndarray:
        image = ensure_bgr(image)
        logits = self._infer(self.preprocess(image))
        return self.postprocess(logits, (image.shape[1], image.shape[0]))
