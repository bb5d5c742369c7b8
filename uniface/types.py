"""Result types: the `Face` record and the per-model result dataclasses (uniface 4.x names and fields).

`Face` is what every detector returns. It is the 4.x dataclass (attributes,
`.sex`, `.bbox_xywh`, `.to_json()`) and at the same time reads like the dict
uniface 1.x detectors returned (`face['bbox']`, `face.get('confidence')`,
`'landmarks' in face`, `dict(face)`), so code written for either
generation runs on the same objects.

The result dataclasses are frozen: a prediction is a value. Predictors that
enrich a `Face` (see `uniface.predictor.Predictor`) return one of them and
also write its fields into the `Face`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, fields
from typing import Any

from runtime.face.embedding import cosine_similarity

import numpy as np

__all__ = [
    "DemographyResult",
    "EmotionResult",
    "Face",
    "FaceMeshResult",
    "FaceStateResult",
    "GazeResult",
    "HeadPoseResult",
    "QualityResult",
    "SpoofingResult",
]


@dataclass(slots=True, frozen=True)
class GazeResult:
    """Gaze direction in radians: `pitch` positive up, `yaw` positive right."""

    pitch: float
    yaw: float

    def __repr__(self) -> str:
        return f"GazeResult(pitch={self.pitch:.4f}, yaw={self.yaw:.4f})"


@dataclass(slots=True, frozen=True)
class HeadPoseResult:
    """Head rotation in degrees: `pitch` (x axis, positive down), `yaw` (y, positive right), `roll` (z, clockwise)."""

    pitch: float
    yaw: float
    roll: float

    def __repr__(self) -> str:
        return f"HeadPoseResult(pitch={self.pitch:.1f}, yaw={self.yaw:.1f}, roll={self.roll:.1f})"


@dataclass(slots=True, frozen=True)
class SpoofingResult:
    """Anti-spoofing verdict: `is_real` and the softmax confidence of the winning class."""

    is_real: bool
    confidence: float

    def __repr__(self) -> str:
        return f"SpoofingResult({'Real' if self.is_real else 'Fake'}, confidence={self.confidence:.4f})"


@dataclass(slots=True, frozen=True)
class QualityResult:
    """Face image quality in [0, 1] (higher is better)."""

    score: float

    def __repr__(self) -> str:
        return f"QualityResult(score={self.score:.4f})"


@dataclass(slots=True, frozen=True)
class EmotionResult:
    """Emotion label (e.g. 'Happy') and its softmax confidence."""

    emotion: str
    confidence: float

    def __repr__(self) -> str:
        return f"EmotionResult('{self.emotion}', confidence={self.confidence:.4f})"


def _sex(gender: int | None) -> str | None:
    return None if gender is None else ("Female" if gender == 0 else "Male")


@dataclass(slots=True, frozen=True)
class DemographyResult:
    """Gender (0 female, 1 male) plus exact `age` (AgeGender) or `age_group` and `race` (FairFace)."""

    gender: int
    age: int | None = None
    age_group: str | None = None
    race: str | None = None

    @property
    def sex(self) -> str:
        """'Female' or 'Male'."""
        return _sex(self.gender)

    def __repr__(self) -> str:
        parts = [f"gender={self.sex}"]
        parts += [
            f"{name}={getattr(self, name)}" for name in ("age", "age_group", "race") if getattr(self, name) is not None
        ]
        return f"DemographyResult({', '.join(parts)})"


@dataclass(slots=True, frozen=True)
class FaceStateResult:
    """Five independent probabilities (FaceAttribNet), in the model's output order.

    Each comes from its own binary head: they do not sum to 1, so threshold
    each one, never take an argmax.
    """

    left_eye_open: float
    right_eye_open: float
    eyeglasses: float
    mask: float
    sunglasses: float

    def as_dict(self) -> dict[str, float]:
        """Attribute name -> probability."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def labels(self, threshold: float = 0.5) -> list[str]:
        """Names of the attributes whose probability is above `threshold`."""
        return [name for name, value in self.as_dict().items() if value > threshold]

    def __repr__(self) -> str:
        return "FaceStateResult(" + ", ".join(f"{k}={v:.4f}" for k, v in self.as_dict().items()) + ")"


@dataclass(slots=True, frozen=True, eq=False)
class FaceMeshResult:
    """Dense landmarks `(468 or 478, 3)` in image pixels (z: relative depth) and the face-presence score.

    `eq=False`: the generated `__eq__` would compare arrays and raise; compare
    `landmarks` with `np.allclose` instead.
    """

    landmarks: np.ndarray
    score: float

    @property
    def points_2d(self) -> np.ndarray:
        """The (N, 2) landmarks without depth."""
        return self.landmarks[:, :2]

    def __repr__(self) -> str:
        return f"FaceMeshResult(landmarks={self.landmarks.shape}, score={self.score:.4f})"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class Face:
    """One detected face and whatever the predictors added to it.

    As a 4.x dataclass: attributes below, `sex`, `bbox_xyxy`, `bbox_xywh`,
    `compute_similarity`, `to_dict`, `to_json`. As a 1.x detection dict: the
    keys are the fields that are set (a fresh detection has exactly 'bbox',
    'confidence' and 'landmarks'), plus any extra keys code assigns
    (`face['name'] = 'Ann'`); a field that is None reads as a missing key.
    `len(face)` is not supported (`len(face.keys())` is), so numpy keeps
    treating a list of faces as a list of objects.
    """

    bbox: np.ndarray
    confidence: float
    landmarks: np.ndarray
    embedding: np.ndarray | None = None
    gender: int | None = None
    age: int | None = None
    age_group: str | None = None
    race: str | None = None
    emotion: str | None = None
    emotion_confidence: float | None = None
    left_eye_open: float | None = None
    right_eye_open: float | None = None
    eyeglasses: float | None = None
    mask: float | None = None
    sunglasses: float | None = None
    quality: float | None = None
    track_id: int | None = None

    def __post_init__(self) -> None:
        self._extra: dict[str, Any] = {}  # 1.x-style extra keys; not a field, so not in to_dict()/asdict()

    # -- the 4.x dataclass API ----------------------------------------------------------

    @property
    def sex(self) -> str | None:
        """'Female' (gender 0), 'Male' (gender 1) or None."""
        return _sex(self.gender)

    @property
    def bbox_xyxy(self) -> np.ndarray:
        """A copy of the box as [x1, y1, x2, y2]."""
        return np.array(self.bbox, copy=True)

    @property
    def bbox_xywh(self) -> np.ndarray:
        """The box as [x1, y1, width, height]."""
        x1, y1, x2, y2 = self.bbox[:4]
        return np.array([x1, y1, x2 - x1, y2 - y1])

    def compute_similarity(self, other: Face) -> float:
        """Cosine similarity of the two faces' embeddings (ValueError if either has none)."""
        if self.embedding is None or other.embedding is None:
            raise ValueError("both faces need an embedding for similarity (run a recognizer on them first)")
        return cosine_similarity(self.embedding, other.embedding)

    def to_dict(self) -> dict[str, Any]:
        """Every field by name (values as they are, arrays included), like upstream 4.x."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_json(self, indent: int | None = None) -> str:
        """The fields as JSON (arrays become lists, numpy scalars Python numbers)."""
        return json.dumps({k: _jsonable(v) for k, v in self.to_dict().items()}, indent=indent)

    # -- the 1.x detection-dict API -----------------------------------------------------

    def keys(self) -> list[str]:
        """Field names that are set, then extra keys (what a 1.x dict would have held)."""
        names = [f.name for f in fields(self) if getattr(self, f.name) is not None]
        return names + list(self._extra)

    def __getitem__(self, key: str) -> Any:
        if key in _FIELD_NAMES:
            value = getattr(self, key)
            if value is not None:
                return value
        elif key in self._extra:
            return self._extra[key]
        raise KeyError(f"{key!r}: this face has keys {self.keys()}")

    def __setitem__(self, key: str, value: Any) -> None:
        if key in _FIELD_NAMES:
            setattr(self, key, value)
        else:
            self._extra[key] = value

    def __delitem__(self, key: str) -> None:
        if key in _REQUIRED:
            raise KeyError(f"{key!r} is a required field of Face and cannot be deleted")
        if key in _FIELD_NAMES and getattr(self, key) is not None:
            setattr(self, key, None)
        elif key in self._extra:
            del self._extra[key]
        else:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if key in _FIELD_NAMES:
            return getattr(self, key) is not None
        return key in self._extra

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    # No __len__: numpy takes any object with __getitem__ and __len__ for a sequence, so
    # np.array(faces) would break the faces apart; without it a list of faces stays an object array.

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def values(self) -> list[Any]:
        return [self[k] for k in self.keys()]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in self.keys()]

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, other: Any = (), **kwargs: Any) -> None:
        items = other.items() if hasattr(other, "items") else other
        for key, value in [*items, *kwargs.items()]:
            self[key] = value

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            value = self[key]
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def copy(self) -> Face:
        """Shallow copy (arrays shared), like `dict.copy()`."""
        out = Face(**self.to_dict())
        out._extra.update(self._extra)
        return out

    def __repr__(self) -> str:
        parts = [f"Face(confidence={self.confidence:.3f}"]
        if self.track_id is not None:
            parts.append(f"track_id={self.track_id}")
        for name in ("age", "age_group"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)}")
        if self.gender is not None:
            parts.append(f"sex={self.sex}")
        for name in ("race", "emotion"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)}")
        states = [
            f"{name}={getattr(self, name):.2f}"
            for name in ("left_eye_open", "right_eye_open", "eyeglasses", "mask", "sunglasses")
            if getattr(self, name) is not None
        ]
        if states:
            parts.append(", ".join(states))
        if self.quality is not None:
            parts.append(f"quality={self.quality:.4f}")
        if self.embedding is not None:
            parts.append(f"embedding_dim={np.shape(self.embedding)[-1]}")
        return ", ".join(parts) + ")"


_FIELD_NAMES = frozenset(f.name for f in fields(Face))
_REQUIRED = frozenset(("bbox", "confidence", "landmarks"))

MutableMapping.register(Face)  # isinstance(face, Mapping) holds, as it did for 1.x detection dicts
