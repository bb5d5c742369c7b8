"""Gaze estimation (4.x `uniface.gaze`)."""

from ..types import GazeResult
from .base import BaseGazeEstimator
from .models import MobileGaze

__all__ = ["BaseGazeEstimator", "GazeResult", "MobileGaze"]
