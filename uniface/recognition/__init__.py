"""Face recognizers (uniface 4.x layout) and 1.x's `create_recognizer`."""

from __future__ import annotations

from typing import Any

from .adaface import AdaFace
from .arcface import ArcFace
from .base import BaseRecognizer, PreprocessConfig
from .edgeface import EdgeFace
from .mobileface import MobileFace
from .sphereface import SphereFace

RECOGNIZERS: dict[str, type[BaseRecognizer]] = {
    "adaface": AdaFace,
    "arcface": ArcFace,
    "edgeface": EdgeFace,
    "mobileface": MobileFace,
    "sphereface": SphereFace,
}

__all__ = [
    "AdaFace",
    "ArcFace",
    "BaseRecognizer",
    "EdgeFace",
    "MobileFace",
    "PreprocessConfig",
    "SphereFace",
    "create_recognizer",
]


def create_recognizer(method: str = "arcface", **kwargs: Any) -> BaseRecognizer:
    """A recognizer by family name (1.x factory; 4.x removed it)."""
    key = method.lower()
    if key not in RECOGNIZERS:
        raise ValueError(f"unknown recognizer {method!r}; choose one of {sorted(RECOGNIZERS)}")
    return RECOGNIZERS[key](**kwargs)
