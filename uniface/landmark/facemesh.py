"""MediaPipe dense landmarks: Face Mesh (468 points, 192 px) and Face Landmarker (478 with irises, 256 px)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import Enum
from typing import Any

from runtime.face import facemesh
from runtime.face.facemesh import DEFAULT_MARGIN, IRIS_LEFT, IRIS_RIGHT, NUM_MESH_LANDMARKS, Roi, roi_from_box, warp_roi
from runtime.face.preprocess import ensure_bgr

import numpy as np

from ..constants import FaceMeshWeights
from ..predictor import bbox_of, landmarks_of
from ..types import Face, FaceMeshResult
from .base import BaseLandmarker

__all__ = ["IRIS_LEFT", "IRIS_RIGHT", "NUM_MESH_LANDMARKS", "FaceMesh", "Roi", "roi_from_box", "warp_roi"]


class FaceMesh(BaseLandmarker):
    """Dense 3D landmarks in image pixels, from any detector's boxes (and eye keypoints for the roll).

    `predict(image, faces)` or `predict(image, bboxes=[...], keypoints=[...])`
    returns one `FaceMeshResult` per face; `get_landmarks(image, bbox)` the
    (N, 2) points of one face, like the other landmarkers. The crop is
    MediaPipe's ROI (1.5x the box, square, roll-normalized by the eyes).
    Each face runs on its own (the model's batch axis is dynamic; one shape
    keeps one MLX translation).
    """

    default_model = FaceMeshWeights.V1_468
    default_hw = (192, 192)

    def __init__(
        self,
        model_name: Enum | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        super().__init__(model_name, model_path=model_path, backend=backend, mode=mode, providers=providers)
        if len(self.outputs) != 2:
            raise ValueError(
                f"{self.model_path}: FaceMesh has two outputs (landmarks, presence logit), this model has "
                f"{len(self.outputs)}"
            )
        shape = self.outputs[0].shape
        if len(shape) != 3 or not isinstance(shape[1], int):
            raise ValueError(f"{self.model_path}: expected landmarks [N, K, 3], the model declares {list(shape)}")
        self._num_landmarks = int(shape[1])
        self.input_size = int(self.input_size[0])  # upstream's attribute: the square side

    @property
    def num_landmarks(self) -> int:
        """468 or 478, read from the model."""
        return self._num_landmarks

    def preprocess(self, crop: np.ndarray) -> np.ndarray:
        """A BGR crop -> (3, size, size) float32 RGB in [0, 1]."""
        return facemesh.to_input(crop, self.input_size)

    def postprocess(
        self, landmarks: np.ndarray, logits: np.ndarray, rois: list[Roi], inverses: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        return facemesh.to_image(landmarks, logits, rois, inverses, self.input_size)

    def _run_rois(self, image: np.ndarray, rois: list[Roi]) -> tuple[np.ndarray, np.ndarray]:
        points, logits, inverses = [], [], []
        for roi in rois:
            crop, inverse = warp_roi(image, roi, self.input_size)
            out = self.session.run({self.input_name: self.preprocess(crop)[None]})
            points.append(out[0][0])
            logits.append(np.asarray(out[1]).reshape(-1)[:1])
            inverses.append(inverse)
        return self.postprocess(np.stack(points), np.stack(logits), rois, inverses)

    def predict(
        self,
        image: np.ndarray,
        faces: Sequence[Face] | None = None,
        *,
        bboxes: Sequence[Any] | np.ndarray | None = None,
        keypoints: Sequence[Any] | np.ndarray | None = None,
        margin: float = DEFAULT_MARGIN,
    ) -> list[FaceMeshResult]:
        """One `FaceMeshResult` per face, in order: `faces` from a detector, or `bboxes` (+ optional `keypoints`)."""
        image = ensure_bgr(image)
        if (faces is None) == (bboxes is None):
            raise ValueError("Provide either faces or bboxes, not both")
        if faces is not None:
            boxes = [bbox_of(f) for f in faces]
            points = [landmarks_of(f) for f in faces]
        else:
            boxes = list(bboxes)
            points = None if keypoints is None else list(keypoints)
            if points is not None and len(points) != len(boxes):
                raise ValueError(f"Got {len(boxes)} boxes but {len(points)} keypoint sets")
        if not boxes:
            return []
        rois = [roi_from_box(b, None if points is None else points[i], margin) for i, b in enumerate(boxes)]
        landmarks, scores = self._run_rois(image, rois)
        return [FaceMeshResult(landmarks=landmarks[i], score=float(scores[i])) for i in range(len(rois))]

    def get_landmarks(self, image: np.ndarray, bbox: Any, keypoints: np.ndarray | None = None) -> np.ndarray:
        """(num_landmarks, 2) float32 points of one face; `keypoints` (eyes first) roll-normalize the crop."""
        results = self.predict(image, bboxes=[bbox_of(bbox)], keypoints=None if keypoints is None else [keypoints])
        return results[0].points_2d

    def __call__(self, image: np.ndarray, bbox: Any, keypoints: np.ndarray | None = None) -> np.ndarray:
        return self.get_landmarks(image, bbox, keypoints)
