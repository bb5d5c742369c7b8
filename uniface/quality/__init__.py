"""Face image quality assessment (4.x `uniface.quality`)."""

from ..constants import EDifFIQAWeights
from ..types import QualityResult
from .base import BaseQualityEstimator
from .ediffiqa import EDifFIQA

__all__ = ["BaseQualityEstimator", "EDifFIQA", "EDifFIQAWeights", "QualityResult"]
