"""The torchvision input most 4.x families share: RGB, resized, scaled to [0, 1], ImageNet mean/std."""

from __future__ import annotations

import cv2
import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def imagenet_input(image: np.ndarray, size: tuple[int, int], interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """BGR uint8 image -> [1, 3, H, W] float32: resized to `size` (width, height), RGB, `(x / 255 - mean) / std`.

    The order of operations is upstream's (divide by 255 first, in float32),
    so the tensor matches theirs to the last bit.
    """
    rgb = cv2.cvtColor(cv2.resize(image, tuple(int(v) for v in size), interpolation=interpolation), cv2.COLOR_BGR2RGB)
    x = (rgb.astype(np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(np.transpose(x, (2, 0, 1))[None], dtype=np.float32)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax, in the input's dtype (upstream's `uniface.common.softmax`)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
