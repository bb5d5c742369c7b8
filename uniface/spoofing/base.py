"""Base for anti-spoofing models: `predict(image, bbox) -> SpoofingResult`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._model import OnnxModel
from ..types import SpoofingResult

__all__ = ["BaseSpoofer", "SpoofingResult"]


class BaseSpoofer(OnnxModel):
    """A model that tells a live face from a presented one (photo, screen, mask); `bbox` may also be a Face."""

    def predict(self, image: np.ndarray, bbox: Any) -> SpoofingResult:
        raise NotImplementedError

    def __call__(self, image: np.ndarray, bbox: Any) -> SpoofingResult:
        return self.predict(image, bbox)
