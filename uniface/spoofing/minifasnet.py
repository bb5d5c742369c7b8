"""MiniFASNet (Silent-Face anti-spoofing, yakhyo/face-anti-spoofing exports): 80x80 context crop, 3 classes."""

from __future__ import annotations

import os
from enum import Enum
from typing import Any

from runtime.face.preprocess import ensure_bgr
from runtime.face.spoofing import context_crop, to_input, verdict

import numpy as np

from ..constants import MiniFASNetWeights
from ..predictor import bbox_of
from ..types import SpoofingResult
from .base import BaseSpoofer

__all__ = ["DEFAULT_SCALES", "MiniFASNet"]

DEFAULT_SCALES = {MiniFASNetWeights.V1SE: 4.0, MiniFASNetWeights.V2: 2.7}


class MiniFASNet(BaseSpoofer):
    """`predict(image, bbox) -> SpoofingResult(is_real, confidence)`.

    The crop is the box scaled by `scale` about its centre (V1SE 4.0, V2
    2.7 by default; less when the image is too small), resized to the input
    size, fed as raw BGR values. Class 1 of the three logits is "real".
    `bbox` may be `[x1, y1, x2, y2]`, a `Face` or a 1.x detection dict (our
    extension), so the model also works as a FaceAnalyzer predictor; a
    spoofing verdict has no field in `Face`, so nothing is written into it.
    """

    default_model = MiniFASNetWeights.V2
    default_hw = (80, 80)

    def __init__(
        self,
        model_name: Enum | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        scale: float | None = None,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        super().__init__(model_name, model_path=model_path, backend=backend, mode=mode, providers=providers)
        self.scale = float(scale) if scale is not None else DEFAULT_SCALES.get(self.model_name, 2.7)
        self.output_name = self.output_names[0]

    def preprocess(self, image: np.ndarray, bbox: Any) -> np.ndarray:
        return to_input(context_crop(image, bbox_of(bbox), self.scale, self.input_size))

    def postprocess(self, outputs: np.ndarray) -> SpoofingResult:
        is_real, confidence = verdict(outputs)
        return SpoofingResult(is_real=is_real, confidence=confidence)

    def predict(self, image: np.ndarray, bbox: Any) -> SpoofingResult:
        return self.postprocess(self._infer(self.preprocess(ensure_bgr(image), bbox)))
