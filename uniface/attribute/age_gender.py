"""Age and gender (insightface genderage: 96x96 crop, normalization inside the graph)."""

from __future__ import annotations

from runtime.face.alignment import bbox_center_alignment
from runtime.face.preprocess import blob, ensure_bgr

import numpy as np

from .._model import OnnxModel
from ..constants import AgeGenderWeights


class AgeGender(OnnxModel):
    """`predict(image, bbox) -> (gender, age)`: gender 0 = female, 1 = male; age in years."""

    default_model = AgeGenderWeights.DEFAULT
    default_hw = (96, 96)

    def preprocess(self, image: np.ndarray, bbox: np.ndarray) -> np.ndarray:
        """Square crop of 1.5x the box's longer side around its centre, RGB, no scaling."""
        bbox = np.asarray(bbox, dtype=np.float64)
        width, height = bbox[2] - bbox[0], bbox[3] - bbox[1]
        center = ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
        size = self.input_size[1]
        scale = size / (max(width, height) * 1.5)
        crop, _ = bbox_center_alignment(image, center, size, scale, 0.0)
        return blob(crop, self.input_size, mean=0.0, std=1.0, swap_rb=True)

    def postprocess(self, prediction: np.ndarray) -> tuple[int, int]:
        gender = int(np.argmax(prediction[:2]))
        age = int(np.round(prediction[2] * 100))
        return gender, age

    def predict(self, image: np.ndarray, bbox: np.ndarray) -> tuple[int, int]:
        """(gender, age) of the face in `bbox` ([x1, y1, x2, y2])."""
        prediction = self._infer(self.preprocess(ensure_bgr(image), bbox))[0]
        return self.postprocess(prediction)

    __call__ = predict
