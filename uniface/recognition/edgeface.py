"""EdgeFace recognizer."""

from __future__ import annotations

from ..constants import EdgeFaceWeights
from .base import BaseRecognizer


class EdgeFace(BaseRecognizer):
    """EdgeFace (EdgeNeXt backbone, low-rank linears in the LoRA variants), 512-d; RGB like ArcFace."""

    default_model = EdgeFaceWeights.XXS
