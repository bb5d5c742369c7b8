"""AdaFace recognizer."""

from __future__ import annotations

from ..constants import AdaFaceWeights
from .base import BaseRecognizer


class AdaFace(BaseRecognizer):
    """AdaFace IResNet (WebFace), 512-d. Unlike the others it is fed BGR: `(x - 127.5) / 127.5` without a channel swap."""

    default_model = AdaFaceWeights.IR_18
    swap_rb = False
