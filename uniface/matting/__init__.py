"""Portrait matting (4.x `uniface.matting`), plus Robust Video Matting (ours, recurrent across frames)."""

from .base import BaseMatting
from .modnet import MODNet
from .rvm import RobustVideoMatting, RVMWeights

__all__ = ["BaseMatting", "MODNet", "RVMWeights", "RobustVideoMatting"]
