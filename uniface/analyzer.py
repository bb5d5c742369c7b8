"""FaceAnalyzer: detection plus optional embedding and age/gender per face."""

from __future__ import annotations

import logging

from runtime.face.preprocess import ensure_bgr

import numpy as np

from .face import Face

log = logging.getLogger("uniface")


class FaceAnalyzer:
    """Runs `detector`, then `recognizer` and `age_gender` (when given) on every face found."""

    def __init__(self, detector, recognizer=None, age_gender=None) -> None:
        self.detector = detector
        self.recognizer = recognizer
        self.age_gender = age_gender

    def analyze(self, image: np.ndarray) -> list[Face]:
        """All faces in a BGR image as `Face` records.

        A failure of an optional model on one face is logged and leaves that
        field None, so one odd crop does not lose the other faces.
        """
        image = ensure_bgr(image)
        faces = []
        for det in self.detector.detect(image):
            face = Face(bbox=det["bbox"], confidence=det["confidence"], landmarks=det["landmarks"])
            if self.recognizer is not None:
                try:
                    face.embedding = self.recognizer.get_normalized_embedding(image, face.landmarks)
                except Exception as exc:  # noqa: BLE001 - keep the other faces
                    log.warning("embedding failed for face at %s: %s", np.round(face.bbox).tolist(), exc)
            if self.age_gender is not None:
                try:
                    face.gender, face.age = self.age_gender.predict(image, face.bbox)
                except Exception as exc:  # noqa: BLE001
                    log.warning("age/gender failed for face at %s: %s", np.round(face.bbox).tolist(), exc)
            faces.append(face)
        return faces

    __call__ = analyze

    def __repr__(self) -> str:
        return (
            f"FaceAnalyzer(detector={self.detector!r}, recognizer={self.recognizer!r}, age_gender={self.age_gender!r})"
        )
