"""Per-face attribute predictors (4.x `predict(image, face)`, 1.x calls dispatched by argument type)."""

from ..types import DemographyResult, EmotionResult, FaceStateResult
from .age_gender import AgeGender
from .base import BaseAttribute
from .emotion import Emotion
from .faceattribnet import FaceAttribNet
from .fairface import FairFace

__all__ = [
    "AgeGender",
    "BaseAttribute",
    "DemographyResult",
    "Emotion",
    "EmotionResult",
    "FaceAttribNet",
    "FaceStateResult",
    "FairFace",
]
