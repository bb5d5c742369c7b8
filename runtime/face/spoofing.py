"""MiniFASNet anti-spoofing: the scaled context crop around a face box, and the 3-class read-out."""

from __future__ import annotations

import cv2
import numpy as np

from .imagenet import softmax

REAL_CLASS = 1  # logits order: 0 print / 2D attack, 1 real, 2 replay / 3D attack


def context_crop(image: np.ndarray, bbox: np.ndarray, scale: float, size: tuple[int, int]) -> np.ndarray:
    """The box (integer x, y, w, h) scaled about its centre by `scale` (less if the image is too small), resized.

    The box is truncated to integers first; the crop bounds are inclusive
    and clamped to the image, as in Silent-Face's `CropImage`.
    """
    src_h, src_w = image.shape[:2]
    x1, y1, x2, y2 = np.asarray(bbox)[:4]
    x, y, box_w, box_h = int(x1), int(y1), int(x2 - x1), int(y2 - y1)
    if box_w <= 0 or box_h <= 0:
        raise ValueError(f"box {np.asarray(bbox)[:4].tolist()} has no area")
    scale = min((src_h - 1) / box_h, (src_w - 1) / box_w, scale)
    new_w, new_h = box_w * scale, box_h * scale
    cx, cy = x + box_w / 2, y + box_h / 2
    left, top = max(0, int(cx - new_w / 2)), max(0, int(cy - new_h / 2))
    right, bottom = min(src_w - 1, int(cx + new_w / 2)), min(src_h - 1, int(cy + new_h / 2))
    return cv2.resize(image[top : bottom + 1, left : right + 1], tuple(size))


def to_input(crop: np.ndarray) -> np.ndarray:
    """BGR uint8 crop -> [1, 3, H, W] float32 in 0..255 (MiniFASNet takes raw pixel values)."""
    return np.ascontiguousarray(np.transpose(crop.astype(np.float32), (2, 0, 1))[None])


def verdict(logits: np.ndarray) -> tuple[bool, float]:
    """(is_real, softmax confidence of the winning class)."""
    probs = softmax(np.asarray(logits))
    label = int(np.argmax(probs))
    return label == REAL_CLASS, float(probs[0, label])
