"""MobileFace recognizer."""

from __future__ import annotations

from ..constants import MobileFaceWeights
from .base import BaseRecognizer


class MobileFace(BaseRecognizer):
    """MobileNet-family face embedders trained on MS1MV2."""

    default_model = MobileFaceWeights.MNET_V2
