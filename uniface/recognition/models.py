"""ArcFace (insightface w600k), MobileFace and SphereFace (yakhyo/face-recognition)."""

from __future__ import annotations

from ..constants import ArcFaceWeights, MobileFaceWeights, SphereFaceWeights
from .base import BaseRecognizer


class ArcFace(BaseRecognizer):
    """insightface ArcFace (MobileFaceNet `MNET` or IResNet-50 `RESNET`), 512-d."""

    default_model = ArcFaceWeights.MNET


class MobileFace(BaseRecognizer):
    """MobileNet-family face embedders trained on MS1MV2."""

    default_model = MobileFaceWeights.MNET_V2


class SphereFace(BaseRecognizer):
    """SphereFace-20/36 face embedders."""

    default_model = SphereFaceWeights.SPHERE20
