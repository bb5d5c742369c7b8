"""The per-face predictor protocol FaceAnalyzer runs, and helpers for writing predictors.

A predictor is anything with `predict(image, face)`: it reads what it needs
from the `Face` (box, landmarks), returns a result dataclass from
`uniface.types`, and writes that result into the `Face` (upstream 4.x's
contract). `BaseAttribute` (uniface.attribute.base) implements the
contract for ONNX models: a subclass only supplies `compute(image, face)`.

Classes whose upstream signature takes a box instead (1.x
`AgeGender.predict(image, bbox)`, 4.x `MiniFASNet.predict(image, bbox)`)
dispatch on what they are given: `is_face(x)` tells a `Face` from a box,
`bbox_of` / `landmarks_of` read either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .types import DemographyResult, EmotionResult, Face, FaceStateResult, QualityResult

__all__ = ["Predictor", "bbox_of", "is_face", "landmarks_of", "write_result"]


@runtime_checkable
class Predictor(Protocol):
    """Runs on one face and enriches it: `predict(image, face) -> result` (result also written into `face`)."""

    def predict(self, image: np.ndarray, face: Face) -> Any: ...


def is_face(value: Any) -> bool:
    """True for a `Face` (the 4.x call), False for a box or landmarks array (the 1.x call)."""
    return isinstance(value, Face)


def _read(value: Any, key: str) -> np.ndarray:
    if isinstance(value, Face):
        out = getattr(value, key)
    elif isinstance(value, Mapping):
        if key not in value:
            raise KeyError(f"expected a face with a {key!r} entry, got keys {list(value)}")
        out = value[key]
    else:
        out = value
    arr = np.asarray(out)
    # Keep float32 boxes float32: upstream computes crop centres in the detector's dtype.
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def bbox_of(value: Any) -> np.ndarray:
    """`[x1, y1, x2, y2]` from a Face, a 1.x detection dict, or a box itself."""
    box = _read(value, "bbox").reshape(-1)
    if box.size < 4:
        raise ValueError(f"expected a box [x1, y1, x2, y2], got {box.tolist()}")
    return box[:4]


def landmarks_of(value: Any) -> np.ndarray:
    """`(K, 2)` landmarks from a Face, a 1.x detection dict, or an array."""
    return _read(value, "landmarks").reshape(-1, 2)


# Result fields -> Face fields (results not listed have no place in a Face, e.g. SpoofingResult).
_FACE_FIELDS: dict[type, dict[str, str]] = {
    DemographyResult: {"gender": "gender", "age": "age", "age_group": "age_group", "race": "race"},
    EmotionResult: {"emotion": "emotion", "confidence": "emotion_confidence"},
    FaceStateResult: {n: n for n in ("left_eye_open", "right_eye_open", "eyeglasses", "mask", "sunglasses")},
    QualityResult: {"score": "quality"},
}


def write_result(face: Face, result: Any) -> None:
    """Copy a result's values into the Face fields that hold them (None values leave the field alone).

    So FairFace (no exact age) run after AgeGender keeps AgeGender's age, as
    upstream's predictors only assign the fields they produce.
    """
    for src, dst in _FACE_FIELDS.get(type(result), {}).items():
        value = getattr(result, src)
        if value is not None:
            setattr(face, dst, value)
