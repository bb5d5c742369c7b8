"""YOLOv8-Face heads: per stride `[1, 80, H, W]` = 64 DFL box bins + 1 class logit + 5 x (x, y, visibility).

As uniface 4.x decodes them: box sides are the expectation of a 16-bin
softmax (distribution focal loss) around cell centres `(col + 0.5, row +
0.5)`; keypoints are `(2 * raw + cell) * stride` around the cell corner;
the score is the sigmoid of the class logit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .nms import nms

STRIDES = (8, 16, 32)
REG_MAX = 16


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def decode(heads: Sequence[np.ndarray], strides: Sequence[int] = STRIDES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heads in stride order -> (boxes `[N, 4]` xyxy, scores `[N]`, landmarks `[N, 10]`) in canvas pixels."""
    boxes_l, scores_l, kps_l = [], [], []
    for head, stride in zip(heads, strides):
        _, channels, height, width = head.shape
        pred = head.reshape(channels, -1).T  # (H*W, 80), row-major cells
        rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
        cx, cy = cols.ravel() + 0.5, rows.ravel() + 0.5
        dist = _softmax(pred[:, : 4 * REG_MAX].reshape(-1, 4, REG_MAX), axis=-1) @ np.arange(REG_MAX)
        boxes_l.append(np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], axis=-1) * stride)
        scores_l.append(1 / (1 + np.exp(-pred[:, 4 * REG_MAX])))
        kpt = pred[:, 4 * REG_MAX + 1 :].reshape(-1, 5, 3)
        kx = (kpt[:, :, 0] * 2.0 + cols.ravel()[:, None]) * stride
        ky = (kpt[:, :, 1] * 2.0 + rows.ravel()[:, None]) * stride
        kps_l.append(np.stack([kx, ky], axis=-1).reshape(-1, 10))
    return np.concatenate(boxes_l), np.concatenate(scores_l), np.concatenate(kps_l)


def postprocess(
    heads: Sequence[np.ndarray],
    scale: float,
    pad: tuple[int, int],
    image_hw: tuple[int, int],
    conf_thresh: float,
    nms_thresh: float,
    max_det: int,
    strides: Sequence[int] = STRIDES,
) -> tuple[np.ndarray, np.ndarray]:
    """Heads -> (detections `[N, 5]`, landmarks `[N, 5, 2]`) in image pixels.

    Scores `>=` threshold; NMS on letterbox-canvas boxes; boxes (not
    landmarks) clipped to the image after undoing the letterbox.
    """
    boxes, scores, kps = decode(heads, strides)
    mask = scores >= conf_thresh
    boxes, scores, kps = boxes[mask], scores[mask], kps[mask]
    if len(boxes) == 0:
        return np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
    keep = nms(np.hstack((boxes, scores[:, None])).astype(np.float32, copy=False), nms_thresh)[:max_det]
    boxes, scores, kps = boxes[keep], scores[keep], kps[keep]
    pad_w, pad_h = pad
    boxes[:, [0, 2]] = np.clip((boxes[:, [0, 2]] - pad_w) / scale, 0, image_hw[1])
    boxes[:, [1, 3]] = np.clip((boxes[:, [1, 3]] - pad_h) / scale, 0, image_hw[0])
    kps[:, 0::2] = (kps[:, 0::2] - pad_w) / scale
    kps[:, 1::2] = (kps[:, 1::2] - pad_h) / scale
    return np.concatenate([boxes, scores[:, None]], axis=1), kps.reshape(-1, 5, 2)
