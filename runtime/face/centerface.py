"""CenterFace: faces as centre points on one stride-4 map (heatmap, log-size, offset, 5 landmarks).

As uniface 4.x decodes it: the image is resized (never up) so each side is a
multiple of 32, candidates are heatmap cells strictly above the threshold
(in row-major order), boxes are clipped to the network input, and landmarks
are predicted relative to the clipped box as (dy, dx) pairs.
"""

from __future__ import annotations

from translator.image_input import ImageInput

import cv2
import numpy as np

from ..models import image_blob
from .nms import nms

STRIDE = 4
SIZE_DIVISOR = 32
NORMALIZATION = ImageInput(mean=0.0, std=1.0, bgr_to_rgb=True)  # raw RGB pixels: the network normalizes nothing


def resize(image: np.ndarray, max_size: tuple[int, int] | None) -> tuple[np.ndarray, float, float]:
    """Resize to sides rounded up to multiples of 32, at most `max_size` (w, h) scaled; (image, sx, sy)."""
    height, width = image.shape[:2]
    ratio = 1.0
    if max_size is not None:
        ratio = min(1.0, max_size[0] / width, max_size[1] / height)
    new_w = max(SIZE_DIVISOR, int(np.ceil(width * ratio / SIZE_DIVISOR) * SIZE_DIVISOR))
    new_h = max(SIZE_DIVISOR, int(np.ceil(height * ratio / SIZE_DIVISOR) * SIZE_DIVISOR))
    return cv2.resize(image, (new_w, new_h)), new_w / width, new_h / height


def to_input(image: np.ndarray) -> np.ndarray:
    """BGR -> RGB float32 `[1, 3, H, W]`, raw 0..255 (the network normalizes nothing)."""
    return image_blob(image, NORMALIZATION)


def decode(
    heatmap: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    landmarks: np.ndarray,
    input_hw: tuple[int, int],
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four heads -> (boxes `[N, 4]`, scores `[N]`, landmarks `[N, 5, 2]`) in network-input pixels."""
    height, width = input_hw
    heat = heatmap[0, 0]
    cy, cx = np.where(heat > threshold)
    if len(cy) == 0:
        return np.empty((0, 4), np.float32), np.empty((0,), np.float32), np.empty((0, 5, 2), np.float32)
    scores = heat[cy, cx]
    box_h = np.exp(scale[0, 0, cy, cx]) * STRIDE
    box_w = np.exp(scale[0, 1, cy, cx]) * STRIDE
    x1 = np.clip((cx + offset[0, 1, cy, cx] + 0.5) * STRIDE - box_w / 2, 0, width)
    y1 = np.clip((cy + offset[0, 0, cy, cx] + 0.5) * STRIDE - box_h / 2, 0, height)
    x2 = np.clip(x1 + box_w, 0, width)
    y2 = np.clip(y1 + box_h, 0, height)
    points = landmarks[0][:, cy, cx]  # (10, N): (dy, dx) per landmark
    kps = np.stack([points[1::2].T * box_w[:, None] + x1[:, None], points[0::2].T * box_h[:, None] + y1[:, None]], 2)
    return np.stack([x1, y1, x2, y2], axis=1), scores, kps


def postprocess(
    outputs: list[np.ndarray],
    input_hw: tuple[int, int],
    scale_wh: tuple[float, float],
    conf_thresh: float,
    nms_thresh: float,
) -> tuple[np.ndarray, np.ndarray]:
    """heatmap/scale/offset/landmark heads -> (detections `[N, 5]`, landmarks `[N, 5, 2]`) in image pixels."""
    boxes, scores, kps = decode(*outputs[:4], input_hw, conf_thresh)
    if boxes.shape[0] == 0:
        return np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
    sx, sy = scale_wh
    boxes[:, 0::2] /= sx  # each side was rounded up to a multiple of 32 on its own: two factors
    boxes[:, 1::2] /= sy
    kps[..., 0] /= sx
    kps[..., 1] /= sy
    order = scores.argsort()[::-1]
    dets = np.hstack((boxes, scores[:, None])).astype(np.float32, copy=False)[order]
    keep = nms(dets, nms_thresh)
    return dets[keep], kps[order][keep].astype(np.float32)
