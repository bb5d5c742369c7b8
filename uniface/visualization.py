"""Drawing detections on images (in place, like uniface)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

# One colour per landmark: right eye, left eye, nose, right mouth, left mouth (BGR).
LANDMARK_COLORS = [(0, 0, 255), (0, 255, 255), (255, 0, 255), (0, 255, 0), (255, 0, 0)]


def _field(face, name):
    return face.get(name) if isinstance(face, dict) else getattr(face, name, None)


def draw_detections(
    image: np.ndarray,
    faces: Sequence,
    scores: Sequence[float] | None = None,
    landmarks: Sequence[np.ndarray] | None = None,
    vis_threshold: float = 0.6,
    draw_score: bool = True,
    color: tuple[int, int, int] = (0, 255, 0),
) -> np.ndarray:
    """Draw boxes, scores and 5-point landmarks onto `image`; returns it.

    `faces` is a list of detection dicts or `Face` objects; the uniface 1.x
    form `draw_detections(image, bboxes, scores, landmarks, vis_threshold)`
    works too. Faces below `vis_threshold` are skipped.
    """
    if scores is not None:
        items = [
            {"bbox": b, "confidence": s, "landmarks": None if landmarks is None else landmarks[i]}
            for i, (b, s) in enumerate(zip(faces, scores))
        ]
    else:
        items = list(faces)
    thickness = max(1, round(max(image.shape[:2]) / 400))
    for face in items:
        score = float(_field(face, "confidence"))
        if score < vis_threshold:
            continue
        x1, y1, x2, y2 = (int(round(v)) for v in np.asarray(_field(face, "bbox"))[:4])
        cv2.rectangle(image, (x1, y1), (x2, y2), color, thickness)
        label = f"{score:.2f}"
        age, gender = _field(face, "age"), _field(face, "gender")
        if gender is not None and age is not None:
            label += f" {'F' if gender == 0 else 'M'}{age}"
        if draw_score:
            scale = 0.4 * thickness
            cv2.putText(image, label, (x1, max(0, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness)
        pts = _field(face, "landmarks")
        if pts is not None:
            for j, (px, py) in enumerate(np.asarray(pts).reshape(-1, 2)):
                cv2.circle(image, (int(round(px)), int(round(py))), thickness + 1, LANDMARK_COLORS[j % 5], -1)
    return image
