"""ArcFace recognizer."""

from __future__ import annotations

from ..constants import ArcFaceWeights
from .base import BaseRecognizer


class ArcFace(BaseRecognizer):
    """insightface ArcFace: MobileFaceNet (`MNET`) or IResNet-50 (`RESNET`), 512-d."""

    default_model = ArcFaceWeights.MNET
