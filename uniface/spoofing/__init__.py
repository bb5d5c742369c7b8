"""Face anti-spoofing (4.x `uniface.spoofing`)."""

from ..constants import MiniFASNetWeights
from ..types import SpoofingResult
from .base import BaseSpoofer
from .minifasnet import MiniFASNet

__all__ = ["BaseSpoofer", "MiniFASNet", "MiniFASNetWeights", "SpoofingResult"]
