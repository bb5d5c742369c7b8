"""Face attributes: age/gender and emotion."""

from .age_gender import AgeGender
from .emotion import Emotion

__all__ = ["AgeGender", "Emotion"]
