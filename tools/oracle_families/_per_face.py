"""Shared by the per-face 4.x families: walk the photos' reference faces, record the inputs upstream got."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .api import Context, round_floats

# Photos for the families whose outputs are large (meshes, masks): the three LFW portraits, two of
# upstream's own test images, and one group photo with small faces.
SMALL_SET = (
    "lfw_Rob_Lowe_0001.jpg",
    "lfw_Nathalie_Baye_0002.jpg",
    "uniface_image1.jpg",
    "uniface_image5.jpg",
    "yolov5face_zidane.jpg",
)


def each_face(ctx: Context, max_num: int = 3) -> Iterator[tuple[str, Any, Any]]:
    """(photo name, image, upstream Face) for the `max_num` largest SCRFD faces of every photo."""
    for image_name, image in ctx.images:
        for face in ctx.reference_faces(image, max_num=max_num):
            yield image_name, image, face


def face_inputs(face: Any) -> dict[str, Any]:
    """The detector outputs a predictor read: box, score and 5 landmarks."""
    return {
        "bbox": round_floats(face.bbox, 9),
        "confidence": round_floats(face.confidence, 9),
        "landmarks": round_floats(face.landmarks, 9),
    }


def box_crop(image: Any, bbox: Any) -> tuple[Any, list[int]]:
    """`image[y1:y2, x1:x2]` with `map(int, bbox)`: the face crop upstream's docs feed gaze, pose and parsing."""
    x1, y1, x2, y2 = (int(v) for v in bbox[:4])
    return image[y1:y2, x1:x2], [x1, y1, x2, y2]
