"""SphereFace recognizer."""

from __future__ import annotations

from ..constants import SphereFaceWeights
from .base import BaseRecognizer


class SphereFace(BaseRecognizer):
    """SphereFace-20/36 face embedders."""

    default_model = SphereFaceWeights.SPHERE20
