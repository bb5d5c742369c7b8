"""Head pose estimation (4.x `uniface.headpose`)."""

from ..types import HeadPoseResult
from .base import BaseHeadPoseEstimator
from .models import HeadPose

__all__ = ["BaseHeadPoseEstimator", "HeadPose", "HeadPoseResult"]
