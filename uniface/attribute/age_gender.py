"""Age and gender (insightface genderage: 96x96 crop, normalization inside the graph)."""

from __future__ import annotations

import os
from enum import Enum
from typing import Any

from runtime.face.alignment import bbox_center_alignment
from runtime.face.preprocess import blob, ensure_bgr

import numpy as np

from ..constants import AgeGenderWeights
from ..predictor import bbox_of
from ..types import DemographyResult, Face
from .base import BaseAttribute


class AgeGender(BaseAttribute):
    """Gender (0 female, 1 male) and age in years from a box-centred crop.

    `predict(image, face)` (4.x) returns a `DemographyResult` and sets
    `face.gender` / `face.age`; `predict(image, bbox)` (1.x) returns the
    tuple `(gender, age)`. `AgeGender(model_name, input_size)` positional as
    in 1.x; `input_size` is (height, width), read from the model when None.
    """

    default_model = AgeGenderWeights.DEFAULT
    default_hw = (96, 96)

    def __init__(
        self,
        model_name: Enum | None = None,
        input_size: tuple[int, int] | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        hw = None if input_size is None else tuple(input_size)
        super().__init__(
            model_name,
            model_path=model_path,
            backend=backend,
            mode=mode,
            input_size=None if hw is None else (hw[1], hw[0]),
            providers=providers,
        )

    def preprocess(self, image: np.ndarray, bbox: Any) -> np.ndarray:
        """Square crop of 1.5x the box's longer side around its centre, RGB, no scaling."""
        bbox = bbox_of(bbox)
        width, height = bbox[2] - bbox[0], bbox[3] - bbox[1]
        center = ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
        size = self.input_size[1]
        scale = size / (max(width, height) * 1.5)
        crop, _ = bbox_center_alignment(image, center, size, scale, 0.0)
        return blob(crop, self.input_size, mean=0.0, std=1.0, swap_rb=True)

    def postprocess(self, prediction: np.ndarray) -> DemographyResult:
        gender = int(np.argmax(prediction[:2]))
        age = int(np.round(prediction[2] * 100))
        return DemographyResult(gender=gender, age=age)

    def compute(self, image: np.ndarray, face: Face) -> DemographyResult:
        prediction = self._infer(self.preprocess(ensure_bgr(image), face.bbox))[0]
        return self.postprocess(prediction)

    def predict_legacy(self, image: np.ndarray, bbox: Any) -> tuple[int, int]:
        """(gender, age) of the face in `bbox` ([x1, y1, x2, y2]), the 1.x call."""
        result = self.postprocess(self._infer(self.preprocess(ensure_bgr(image), bbox))[0])
        return result.gender, result.age
