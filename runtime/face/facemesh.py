"""MediaPipe Face Mesh geometry: the rotated square ROI around a detector box, its crop, and mapping points back.

MediaPipe's `detection_to_roi` takes the box's long side scaled by 1.5
(a 0.25 margin on each side), centred on the box, rotated so the line from
the first to the second keypoint (the eyes in both the 5-point and the
BlazeFace layouts) is horizontal. The crop is sampled once, straight at the
model's input size, and the model's crop-pixel (x, y, z) come back through
the inverse affine; z is scaled like x and y.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

DEFAULT_MARGIN = 0.25  # per side: MediaPipe's 1.5x box
NUM_MESH_LANDMARKS = 468  # both models' mesh; the 478-point model appends the irises
IRIS_LEFT = slice(468, 473)  # centre, right, top, left, bottom
IRIS_RIGHT = slice(473, 478)


class Roi(NamedTuple):
    """A square region: centre (x, y), side and rotation in degrees, in image pixels."""

    center_x: float
    center_y: float
    side: float
    angle: float


def roi_from_box(bbox: np.ndarray, keypoints: np.ndarray | None = None, margin: float = DEFAULT_MARGIN) -> Roi:
    """The square ROI for one face; the first two `keypoints` rows (the eyes) set the roll, if given."""
    x1, y1, x2, y2 = (float(v) for v in np.asarray(bbox).ravel()[:4])
    side = (1.0 + 2.0 * margin) * max(x2 - x1, y2 - y1)
    angle = 0.0
    if keypoints is not None:
        points = np.asarray(keypoints, dtype=np.float64).reshape(-1, 2)
        if points.shape[0] < 2:
            raise ValueError(f"roi_from_box needs at least 2 keypoints (the eyes), got {points.shape[0]}")
        dx, dy = (float(v) for v in points[1] - points[0])
        angle = float(np.degrees(np.arctan2(dy, dx)))
    return Roi((x1 + x2) / 2.0, (y1 + y2) / 2.0, side, angle)


def warp_roi(image: np.ndarray, roi: tuple[float, float, float, float], size: int) -> tuple[np.ndarray, np.ndarray]:
    """The (size, size) crop of `roi` (one bilinear resampling, zeros outside) and its inverse 2x3 affine."""
    cx, cy, side, angle = roi
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, size / side)
    matrix[0, 2] += size / 2.0 - cx
    matrix[1, 2] += size / 2.0 - cy
    crop = cv2.warpAffine(image, matrix, (size, size))
    return crop, cv2.invertAffineTransform(matrix)


def to_input(crop: np.ndarray, size: int) -> np.ndarray:
    """BGR uint8 crop -> (3, size, size) float32 RGB in [0, 1]."""
    if crop.shape[:2] != (size, size):
        crop = cv2.resize(crop, (size, size))
    rgb = crop[:, :, ::-1].astype(np.float32) / 255.0
    return np.transpose(rgb, (2, 0, 1))


def to_image(
    landmarks: np.ndarray, logits: np.ndarray, rois: list[Roi], inverses: list[np.ndarray], size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(N, K, 3) crop-pixel points and (N, ...) presence logits -> image-pixel points (float32), sigmoid scores."""
    points = np.asarray(landmarks, dtype=np.float64).copy()
    for i, (roi, inverse) in enumerate(zip(rois, inverses)):
        points[i, :, :2] = points[i, :, :2] @ inverse[:, :2].T + inverse[:, 2]
        points[i, :, 2] *= roi[2] / size
    scores = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64).ravel()))
    return points.astype(np.float32), scores.astype(np.float32)
