"""Face detectors (uniface 4.x layout) and uniface 1.x's factory functions.

BlazeFace, CenterFace, RetinaFace, SCRFD, YOLOv5Face and YOLOv8Face are
upstream's families; YuNet (OpenCV Zoo) is ours. `create_detector`,
`detect_faces` and `list_available_detectors` are 1.x's (4.x removed them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..types import Face
from .base import BaseDetector
from .blazeface import BlazeFace
from .centerface import CenterFace
from .retinaface import RetinaFace
from .scrfd import SCRFD
from .yolov5 import YOLOv5Face
from .yolov8 import YOLOv8Face
from .yunet import YuNet

DETECTORS: dict[str, type[BaseDetector]] = {
    "blazeface": BlazeFace,
    "centerface": CenterFace,
    "retinaface": RetinaFace,
    "scrfd": SCRFD,
    "yolov5face": YOLOv5Face,
    "yolov8face": YOLOv8Face,
    "yunet": YuNet,
}
_SPELLINGS = {"yolov5": "yolov5face", "yolov8": "yolov8face"}

__all__ = [
    "DETECTORS",
    "SCRFD",
    "BaseDetector",
    "BlazeFace",
    "CenterFace",
    "RetinaFace",
    "YOLOv5Face",
    "YOLOv8Face",
    "YuNet",
    "create_detector",
    "detect_faces",
    "list_available_detectors",
]


def list_available_detectors() -> dict[str, dict[str, Any]]:
    """Detector families (1.x): name -> description, landmark support and default settings."""
    return {
        name: {
            "description": (cls.__doc__ or "").strip().splitlines()[0],
            "supports_landmarks": cls.supports_landmarks,
            "supports_alignment": cls.supports_alignment,
            "default_params": {"model_name": cls.default_model.value, **cls.defaults},
        }
        for name, cls in sorted(DETECTORS.items())
    }


def create_detector(method: str = "retinaface", **kwargs: Any) -> BaseDetector:
    """A detector by family name (`retinaface`, `scrfd`, `yolov5face`, `yolov8face`, `centerface`, `blazeface`, `yunet`)."""
    key = method.lower().replace("-", "").replace("_", "")
    key = _SPELLINGS.get(key, key)
    if key not in DETECTORS:
        raise ValueError(f"unknown detector {method!r}; choose one of {sorted(DETECTORS)}")
    return DETECTORS[key](**kwargs)


_cache: dict[tuple, BaseDetector] = {}


def detect_faces(image: np.ndarray, method: str = "retinaface", **kwargs: Any) -> list[Face]:
    """One-call detection (1.x); the detector is built once per (method, options) and reused."""
    key = (method, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
    if key not in _cache:
        _cache[key] = create_detector(method, **kwargs)
    return _cache[key].detect(image)
