"""FairFace: race (7), gender and age group (9) from a padded box crop (ImageNet input, 224 px)."""

from __future__ import annotations

import os
from enum import Enum
from typing import Any

from runtime.face.attributes import AGE_LABELS, RACE_LABELS, fairface_crop, fairface_decode
from runtime.face.imagenet import imagenet_input
from runtime.face.preprocess import ensure_bgr

import numpy as np

from ..constants import FairFaceWeights
from ..predictor import bbox_of
from ..types import DemographyResult, Face
from .base import BaseAttribute

__all__ = ["AGE_LABELS", "RACE_LABELS", "FairFace"]


class FairFace(BaseAttribute):
    """`predict(image, face) -> DemographyResult(gender, age_group, race)`; sets those fields of the Face.

    `input_size` is (height, width) as upstream has it, read from the model
    when None. `predict(image, bbox)` (a box or 1.x dict instead of a Face)
    returns the result without writing anything.
    """

    default_model = FairFaceWeights.DEFAULT
    default_hw = (224, 224)

    def __init__(
        self,
        model_name: Enum | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        input_size: tuple[int, int] | None = None,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        hw = None if input_size is None else tuple(int(v) for v in input_size)
        super().__init__(
            model_name,
            model_path=model_path,
            backend=backend,
            mode=mode,
            input_size=None if hw is None else (hw[1], hw[0]),
            providers=providers,
        )
        if len(self.outputs) != 3:
            raise ValueError(
                f"{self.model_path}: FairFace has three outputs (race, gender, age), this model has {len(self.outputs)}"
            )

    def preprocess(self, image: np.ndarray, bbox: Any = None) -> np.ndarray:
        """The box grown by 25 % per side (whole image without a box), resized, RGB, ImageNet-normalized."""
        crop = fairface_crop(image, None if bbox is None else bbox_of(bbox))
        return imagenet_input(crop, self.input_size)

    def postprocess(self, prediction: list[np.ndarray]) -> DemographyResult:
        gender, age_group, race = fairface_decode(*prediction)
        return DemographyResult(gender=gender, age_group=age_group, race=race)

    def _run(self, image: np.ndarray, bbox: Any) -> DemographyResult:
        return self.postprocess(self.session.run({self.input_name: self.preprocess(ensure_bgr(image), bbox)}))

    def compute(self, image: np.ndarray, face: Face) -> DemographyResult:
        return self._run(image, face.bbox)

    def predict_legacy(self, image: np.ndarray, bbox: Any) -> DemographyResult:
        return self._run(image, bbox)
