"""uniface 1.x's module for the recognizers (kept importable)."""

from .arcface import ArcFace
from .mobileface import MobileFace
from .sphereface import SphereFace

__all__ = ["ArcFace", "MobileFace", "SphereFace"]
