"""Facial landmark models and 1.x's `create_landmarker`."""

from __future__ import annotations

from typing import Any

from .base import BaseLandmarker
from .models import Landmark106

__all__ = ["BaseLandmarker", "Landmark106", "create_landmarker"]


def create_landmarker(method: str = "2d106det", **kwargs: Any) -> BaseLandmarker:
    """A landmark model by name (1.x factory; only '2d106det')."""
    if method.lower() != "2d106det":
        raise ValueError(f"unknown landmark method {method!r}; available: ['2d106det']")
    return Landmark106(**kwargs)
