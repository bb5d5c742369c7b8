"""uniface 4.x's `uniface.common` helpers, backed by the shared face math in `runtime.face`."""

from __future__ import annotations

from collections.abc import Sequence

from runtime.face import decode
from runtime.face.nms import nms
from runtime.face.preprocess import letterbox_center, resize_top_left
from runtime.face.priors import retinaface_priors
from runtime.models import image_blob

import numpy as np

from .detection.yolov5 import YOLO_NORMALIZATION

__all__ = [
    "decode_boxes",
    "decode_landmarks",
    "distance2bbox",
    "distance2kps",
    "generate_anchors",
    "letterbox_resize",
    "non_max_suppression",
    "resize_image",
    "softmax",
    "validate_image",
    "xyxy_to_cxcywh",
]

distance2bbox = decode.distance2bbox
distance2kps = decode.distance2kps


def validate_image(image: np.ndarray) -> None:
    """ValueError unless `image` is a non-empty HxWx3 uint8 array (upstream's strict check).

    The detectors here convert grayscale, BGRA and float images instead of
    rejecting them; this function keeps upstream's contract for code that calls it.
    """
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise ValueError("Input image must be a non-empty numpy array.")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"Expected a BGR image of shape (H, W, 3), got {image.shape}. Convert with cv2.cvtColor.")
    if image.dtype != np.uint8:
        raise ValueError(f"Expected dtype uint8, got {image.dtype}. Scale to [0, 255] and cast with .astype(np.uint8).")


def resize_image(frame: np.ndarray, target_shape: tuple[int, int] = (640, 640)) -> tuple[np.ndarray, float]:
    """Fit into a black (width, height) canvas at the top-left, aspect kept; (canvas, resize factor)."""
    validate_image(frame)
    return resize_top_left(frame, target_shape)


def letterbox_resize(
    image: np.ndarray, target_size: int, fill_value: int = 114
) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Centred letterbox -> (RGB `/ 255` NCHW tensor, scale, (pad_w, pad_h)), as the YOLO detectors feed it."""
    validate_image(image)
    canvas, scale, pad = letterbox_center(image, target_size, fill_value)
    return image_blob(canvas, YOLO_NORMALIZATION), scale, pad


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def xyxy_to_cxcywh(bboxes: np.ndarray) -> np.ndarray:
    """`[x1, y1, x2, y2]` -> `[cx, cy, w, h]` on the last axis."""
    b = np.asarray(bboxes)
    out = np.empty_like(b)
    out[..., 0] = (b[..., 0] + b[..., 2]) / 2
    out[..., 1] = (b[..., 1] + b[..., 3]) / 2
    out[..., 2] = b[..., 2] - b[..., 0]
    out[..., 3] = b[..., 3] - b[..., 1]
    return out


def generate_anchors(image_size: tuple[int, int] = (640, 640)) -> np.ndarray:
    """RetinaFace priors `[cx, cy, w, h]`; `image_size[0]` counts rows, as upstream's code does (its docstring says width)."""
    return retinaface_priors(tuple(image_size))


def non_max_suppression(dets: np.ndarray, threshold: float) -> list[int]:
    """Greedy NMS over `[x1, y1, x2, y2, score]` rows (+1 pixel widths); kept indices, best first."""
    return nms(np.asarray(dets), threshold)


def decode_boxes(loc: np.ndarray, priors: np.ndarray, variances: Sequence[float] | None = None) -> np.ndarray:
    """RetinaFace offsets -> normalized `[x1, y1, x2, y2]`."""
    return decode.retinaface_boxes(loc, priors, variances or (0.1, 0.2))


def decode_landmarks(
    predictions: np.ndarray, priors: np.ndarray, variances: Sequence[float] | None = None
) -> np.ndarray:
    """RetinaFace landmark offsets `[N, 10]` -> normalized points `[N, 10]`."""
    return decode.retinaface_landmarks(predictions, priors, variances or (0.1, 0.2))
