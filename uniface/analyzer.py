"""FaceAnalyzer: a detector, an optional recognizer and any per-face predictors, in either generation's form.

    FaceAnalyzer(detector, recognizer, age_gender)            # uniface 1.x (positional, or those keywords)
    FaceAnalyzer(detector=..., recognizer=..., predictors=[]) # uniface 4.x (keyword-only)
    FaceAnalyzer()                                            # 4.x defaults: RetinaFace MNET_V2 + EdgeFace XXS

The 1.x form is chosen when arguments are passed positionally or
`age_gender=` is given; then a missing recognizer means no embeddings, as
in 1.x. Otherwise the 4.x rules hold: an omitted `recognizer` means
EdgeFace XXS, `recognizer=None` turns recognition off, and a detector whose
landmarks do not fit the alignment template (BlazeFace) turns it off with a
warning. Either way `analyze(image)` returns the detector's `Face` objects,
enriched in place by the recognizer (`face.embedding`) and by every
predictor (`uniface.predictor.Predictor`: `predict(image, face)`).
"""

from __future__ import annotations

import logging
from typing import Any

from runtime.face.preprocess import ensure_bgr

import numpy as np

from .predictor import Predictor
from .types import Face

log = logging.getLogger("uniface")

_UNSET: Any = object()


class FaceAnalyzer:
    """Detection, recognition and per-face predictors over one image."""

    def __init__(
        self,
        *args: Any,
        detector: Any = None,
        recognizer: Any = _UNSET,
        predictors: list[Predictor] | None = None,
        age_gender: Any = None,
    ) -> None:
        legacy = bool(args) or age_gender is not None
        if len(args) > 3:
            raise TypeError(f"FaceAnalyzer takes at most 3 positional arguments (1.x form), got {len(args)}")
        if args:
            given = {"detector": detector is not None, "recognizer": recognizer is not _UNSET,
                     "age_gender": age_gender is not None}  # fmt: skip
            clash = [n for n in ("detector", "recognizer", "age_gender")[: len(args)] if given[n]]
            if clash:
                raise TypeError(f"FaceAnalyzer got {clash} both positionally and as keywords")
            detector, recognizer, age_gender = (*args, *(None,) * (3 - len(args)))
        if legacy and recognizer is _UNSET:
            recognizer = None  # 1.x: no recognizer unless one is given
        if detector is None:
            if legacy:
                raise TypeError("FaceAnalyzer(detector, ...): the 1.x form needs a detector")
            from .detection import RetinaFace

            detector = RetinaFace()
        if not getattr(detector, "supports_alignment", True):
            if recognizer is _UNSET or recognizer is not None:
                log.warning(
                    "%s landmarks do not fit the 5-point alignment template; recognition disabled",
                    type(detector).__name__,
                )
            recognizer = None
        if recognizer is _UNSET:
            from .recognition import EdgeFace

            recognizer = EdgeFace()
        self.detector = detector
        self.recognizer = recognizer
        self.predictors: list[Predictor] = list(predictors or [])
        self.age_gender = age_gender
        if age_gender is not None:
            self.predictors.insert(0, age_gender)
        for p in self.predictors:
            if not callable(getattr(p, "predict", None)):
                raise TypeError(f"predictor {p!r} has no predict(image, face) method")

    def analyze(self, image: np.ndarray) -> list[Face]:
        """All faces in a BGR image, each enriched by the recognizer and the predictors.

        A failure of the recognizer or a predictor on one face is logged and
        leaves that face's fields unset, so one odd crop does not lose the
        other faces (as upstream).
        """
        image = ensure_bgr(image)
        faces = self.detector.detect(image)
        for face in faces:
            if self.recognizer is not None:
                try:
                    face.embedding = self.recognizer.get_normalized_embedding(image, face.landmarks)
                except Exception as exc:  # noqa: BLE001 - keep the other faces
                    log.warning("embedding failed for face at %s: %s", np.round(face.bbox).tolist(), exc)
            for predictor in self.predictors:
                try:
                    predictor.predict(image, face)
                except Exception as exc:  # noqa: BLE001
                    log.warning(
                        "%s failed for face at %s: %s", type(predictor).__name__, np.round(face.bbox).tolist(), exc
                    )
        return faces

    __call__ = analyze

    def __repr__(self) -> str:
        parts = [f"detector={type(self.detector).__name__}"]
        if self.recognizer is not None:
            parts.append(f"recognizer={type(self.recognizer).__name__}")
        if self.predictors:
            parts.append(f"predictors=[{', '.join(type(p).__name__ for p in self.predictors)}]")
        return f"FaceAnalyzer({', '.join(parts)})"
