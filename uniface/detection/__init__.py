"""Face detectors: RetinaFace, SCRFD, YOLOv5Face and YuNet."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import BaseDetector
from .retinaface import RetinaFace
from .scrfd import SCRFD
from .yolov5 import YOLOv5Face
from .yunet import YuNet

DETECTORS = {"retinaface": RetinaFace, "scrfd": SCRFD, "yolov5face": YOLOv5Face, "yunet": YuNet}

__all__ = [
    "BaseDetector",
    "DETECTORS",
    "RetinaFace",
    "SCRFD",
    "YOLOv5Face",
    "YuNet",
    "create_detector",
    "detect_faces",
    "list_available_detectors",
]


def list_available_detectors() -> list[str]:
    return sorted(DETECTORS)


def create_detector(method: str = "retinaface", **kwargs: Any) -> BaseDetector:
    """A detector by family name (`retinaface`, `scrfd`, `yolov5face`, `yunet`)."""
    key = method.lower().replace("-", "").replace("_", "")
    if key == "yolov5":
        key = "yolov5face"
    if key not in DETECTORS:
        raise ValueError(f"unknown detector {method!r}; choose one of {list_available_detectors()}")
    return DETECTORS[key](**kwargs)


_cache: dict[tuple, BaseDetector] = {}


def detect_faces(image: np.ndarray, method: str = "retinaface", **kwargs: Any) -> list[dict]:
    """One-call detection; the detector is built once per (method, options) and reused."""
    key = (method, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
    if key not in _cache:
        _cache[key] = create_detector(method, **kwargs)
    return _cache[key].detect(image)
