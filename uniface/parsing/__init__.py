"""Face parsing and masking (4.x `uniface.parsing`)."""

from .base import BaseFaceParser
from .bisenet import BiSeNet
from .xseg import XSeg

__all__ = ["BaseFaceParser", "BiSeNet", "XSeg"]
