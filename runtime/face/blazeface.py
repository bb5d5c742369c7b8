"""MediaPipe BlazeFace (short range): letterbox, SSD anchors, decoding and weighted NMS.

Reproduces uniface 4.x's BlazeFace step for step (which reproduces MediaPipe's
face_detection_short_range graph): the image is letterboxed onto a square
canvas by an affine warp, anchors come from MediaPipe's SsdAnchorsCalculator
settings, and overlapping candidates are score-averaged rather than dropped.
Coordinates stay float64 until the end, as upstream computes them.
"""

from __future__ import annotations

from collections.abc import Sequence

from translator.image_input import ImageInput

import cv2
import numpy as np

from ..models import image_blob

NUM_KEYPOINTS = 6  # right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion
ANCHOR_STRIDES = (8, 16, 16, 16)  # layers sharing a stride stack their anchors per cell
NUM_ANCHORS = 896
SCORE_CLIP = 100.0  # MediaPipe's score_clipping_thresh, applied to the logits before the sigmoid
NORMALIZATION = ImageInput(mean=127.5, std=127.5, bgr_to_rgb=True)  # RGB in [-1, 1]


def anchors(input_size: int, strides: Sequence[int] = ANCHOR_STRIDES) -> np.ndarray:
    """Normalized anchor centres `(896, 2)` for a square input: 2 per stacked layer per cell, row-major."""
    centers = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        cells = input_size // strides[i]
        ys, xs = np.mgrid[:cells, :cells]
        grid = np.stack([(xs.ravel() + 0.5) / cells, (ys.ravel() + 0.5) / cells], axis=1)
        centers.append(np.repeat(grid, 2 * (j - i), axis=0))
        i = j
    out = np.concatenate(centers)
    if len(out) != NUM_ANCHORS:
        raise ValueError(f"expected {NUM_ANCHORS} anchors for a {input_size}px input, got {len(out)}")
    return out


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float, float, float]:
    """Centre the image on a black `size` x `size` canvas (aspect kept, affine warp); (canvas, scale, pad_x, pad_y)."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    pad_x, pad_y = (size - width * scale) / 2.0, (size - height * scale) / 2.0
    matrix = np.array([[scale, 0.0, pad_x], [0.0, scale, pad_y]])
    return cv2.warpAffine(image, matrix, (size, size)), scale, pad_x, pad_y


def to_input(canvas: np.ndarray) -> np.ndarray:
    """BGR canvas -> RGB `(x - 127.5) / 127.5`, `[1, 3, H, W]` float32."""
    return image_blob(canvas, NORMALIZATION)


def decode(
    regressors: np.ndarray, logits: np.ndarray, anchor_xy: np.ndarray, size: int, threshold: float
) -> np.ndarray:
    """Network outputs -> candidate rows `(score, cx, cy, w, h, kx0, ky0, ...)` (normalized), scores `>=` threshold."""
    raw = np.clip(np.asarray(logits)[0].ravel().astype(np.float64), -SCORE_CLIP, SCORE_CLIP)
    scores = 1.0 / (1.0 + np.exp(-raw))
    keep = scores >= threshold
    reg = np.asarray(regressors)[0][keep].astype(np.float64)
    anchor = anchor_xy[keep]
    rows = np.empty((int(keep.sum()), 5 + 2 * NUM_KEYPOINTS))
    rows[:, 0] = scores[keep]
    rows[:, 1:3] = reg[:, 0:2] / size + anchor
    rows[:, 3:5] = reg[:, 2:4] / size
    kps = reg[:, 4 : 4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) / size + anchor[:, None, :]
    rows[:, 5:] = kps.reshape(-1, 2 * NUM_KEYPOINTS)
    return rows


def weighted_nms(rows: np.ndarray, iou_threshold: float) -> np.ndarray:
    """MediaPipe's weighted NMS: each winner absorbs the candidates overlapping it (IoU `>` threshold).

    The winner's box and keypoints become the score-weighted mean of its
    group (score kept); the winner always joins its own group, so a zero-area
    box or a threshold of 1.0 still terminates. Highest score first.
    """
    remaining = rows[np.argsort(-rows[:, 0])]
    out = []
    while len(remaining):
        top = remaining[0]
        half = remaining[:, 3:5] / 2
        lo, hi = remaining[:, 1:3] - half, remaining[:, 1:3] + half
        t_lo, t_hi = top[1:3] - top[3:5] / 2, top[1:3] + top[3:5] / 2
        wh = np.maximum(0, np.minimum(hi, t_hi) - np.maximum(lo, t_lo))
        inter = wh[:, 0] * wh[:, 1]
        union = (hi - lo).prod(axis=1) + (t_hi - t_lo).prod() - inter
        merge = inter / np.maximum(union, 1e-9) > iou_threshold
        merge[0] = True
        group = remaining[merge]
        blended = top.copy()
        total = group[:, 0].sum()
        if total > 0:
            blended[1:] = (group[:, 1:] * group[:, :1]).sum(axis=0) / total
        out.append(blended)
        remaining = remaining[~merge]
    return np.array(out).reshape(-1, rows.shape[1])


def to_image(rows: np.ndarray, size: int, scale: float, pad_x: float, pad_y: float) -> tuple[np.ndarray, np.ndarray]:
    """Blended rows -> (detections `[N, 5]` x1 y1 x2 y2 score, keypoints `[N, 6, 2]`), float32, in image pixels."""
    centers = (rows[:, 1:3] * size - (pad_x, pad_y)) / scale
    halves = rows[:, 3:5] * size / scale / 2.0
    boxes = np.concatenate([centers - halves, centers + halves], axis=1).astype(np.float32)
    kps = (rows[:, 5:].reshape(-1, NUM_KEYPOINTS, 2) * size - (pad_x, pad_y)) / scale
    dets = np.hstack((boxes, rows[:, :1].astype(np.float32))).astype(np.float32, copy=False)
    return dets, kps.astype(np.float32)


def postprocess(
    outputs: Sequence[np.ndarray],
    anchor_xy: np.ndarray,
    size: int,
    letterbox_params: tuple[float, float, float],
    conf_thresh: float,
    nms_thresh: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(regressors `[1, 896, 16]`, logits `[1, 896, 1]`) -> (detections `[N, 5]`, keypoints `[N, 6, 2]`)."""
    regressors, logits = outputs[:2]
    rows = decode(regressors, logits, anchor_xy, size, conf_thresh)
    if rows.shape[0] == 0:
        return np.zeros((0, 5), np.float32), np.zeros((0, NUM_KEYPOINTS, 2), np.float32)
    return to_image(weighted_nms(rows, nms_thresh), size, *letterbox_params)
