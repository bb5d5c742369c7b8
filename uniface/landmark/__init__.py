"""Facial landmark models and 1.x's `create_landmarker`."""

from __future__ import annotations

from typing import Any

from .base import BaseLandmarker
from .facemesh import IRIS_LEFT, IRIS_RIGHT, NUM_MESH_LANDMARKS, FaceMesh, roi_from_box, warp_roi
from .models import Landmark106
from .pipnet import PIPNet

__all__ = [
    "IRIS_LEFT",
    "IRIS_RIGHT",
    "NUM_MESH_LANDMARKS",
    "BaseLandmarker",
    "FaceMesh",
    "Landmark106",
    "PIPNet",
    "create_landmarker",
    "roi_from_box",
    "warp_roi",
]


def create_landmarker(method: str = "2d106det", **kwargs: Any) -> BaseLandmarker:
    """A landmark model by name (1.x factory; only '2d106det')."""
    if method.lower() != "2d106det":
        raise ValueError(f"unknown landmark method {method!r}; available: ['2d106det']")
    return Landmark106(**kwargs)
