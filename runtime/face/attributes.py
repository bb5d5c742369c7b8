"""Crops and read-outs of the 4.x attribute models: FairFace (race / gender / age group) and FaceAttribNet."""

from __future__ import annotations

import numpy as np

from .imagenet import softmax
from .preprocess import letterbox_center

RACE_LABELS = ("White", "Black", "Latino Hispanic", "East Asian", "Southeast Asian", "Indian", "Middle Eastern")
AGE_LABELS = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+")
FACE_STATES = ("left_eye_open", "right_eye_open", "eyeglasses", "mask", "sunglasses")
FAIRFACE_PADDING = 0.25  # of the box size, on every side


def fairface_crop(image: np.ndarray, bbox: np.ndarray | None) -> np.ndarray:
    """The box (integer-truncated) grown by 25 % per side and clamped; the whole image without a box."""
    if bbox is None:
        return image
    x1, y1, x2, y2 = np.asarray(bbox).astype(int)[:4]
    w, h = x2 - x1, y2 - y1
    pad_x, pad_y = int(w * FAIRFACE_PADDING), int(h * FAIRFACE_PADDING)
    x1, y1 = max(0, x1 - pad_x), max(0, y1 - pad_y)
    x2, y2 = min(image.shape[1], x2 + pad_x), min(image.shape[0], y2 + pad_y)
    crop = image[y1:y2, x1:x2]
    if crop.size == 0:
        raise ValueError(
            f"box {np.asarray(bbox)[:4].tolist()} does not overlap the {image.shape[1]}x{image.shape[0]} image"
        )
    return crop


def fairface_decode(race: np.ndarray, gender: np.ndarray, age: np.ndarray) -> tuple[int, str, str]:
    """(gender 0 female / 1 male, age group, race) from the three logit rows.

    The model's gender index is 0 male, 1 female; it is flipped to the 4.x
    convention (0 female, 1 male).
    """
    race_i = int(np.argmax(softmax(np.asarray(race)[0])))
    gender_i = int(np.argmax(softmax(np.asarray(gender)[0])))
    age_i = int(np.argmax(softmax(np.asarray(age)[0])))
    return 1 - gender_i, AGE_LABELS[age_i], RACE_LABELS[race_i]


def face_state_crop(image: np.ndarray, bbox: np.ndarray | None, margin: float = 0.0) -> np.ndarray:
    """FaceAttribNet's crop: the box grown by `margin` per side, rounded (half to even) and clamped."""
    if bbox is None:
        return image
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in np.asarray(bbox)[:4])
    if margin:
        dw, dh = (x2 - x1) * margin, (y2 - y1) * margin
        x1, y1, x2, y2 = x1 - dw, y1 - dh, x2 + dw, y2 + dh
    x1, y1 = max(0, round(x1)), max(0, round(y1))
    x2, y2 = min(width, round(x2)), min(height, round(y2))
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"box {np.asarray(bbox)[:4].tolist()} does not overlap the {width}x{height} image")
    return image[y1:y2, x1:x2]


def face_state_input(crop: np.ndarray, size: int) -> np.ndarray:
    """Centred zero-padded letterbox to `size`, RGB, [0, 1], [1, 3, size, size] (normalization is in the graph)."""
    canvas, _, _ = letterbox_center(crop, size, pad_value=0)
    rgb = canvas[:, :, ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(np.transpose(rgb, (2, 0, 1))[None], dtype=np.float32)
