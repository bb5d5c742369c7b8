"""Per-face attribute predictors (4.x `predict(image, face)`, 1.x calls dispatched by argument type)."""

from ..types import DemographyResult, EmotionResult, FaceStateResult
from .age_gender import AgeGender
from .base import BaseAttribute
from .emotion import Emotion

__all__ = ["AgeGender", "BaseAttribute", "DemographyResult", "Emotion", "EmotionResult", "FaceStateResult"]
