"""Face recognition models."""

from .base import BaseRecognizer
from .models import ArcFace, MobileFace, SphereFace

__all__ = ["ArcFace", "BaseRecognizer", "MobileFace", "SphereFace"]
