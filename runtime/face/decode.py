"""Decoding raw detector heads into boxes, scores and 5-point landmarks (vectorized)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .priors import RETINAFACE_VARIANCES, YOLOV5_FACE_ANCHORS, YOLOV5_FACE_STRIDES, cell_grid


def retinaface_boxes(
    loc: np.ndarray, priors: np.ndarray, variances: Sequence[float] = RETINAFACE_VARIANCES
) -> np.ndarray:
    """SSD-style offsets -> normalized `[x1, y1, x2, y2]` (undoes the training-time encoding)."""
    centers = priors[:, :2] + loc[:, :2] * variances[0] * priors[:, 2:]
    sizes = priors[:, 2:] * np.exp(loc[:, 2:] * variances[1])
    boxes = np.empty_like(loc)
    boxes[:, :2] = centers - sizes / 2
    boxes[:, 2:] = centers + sizes / 2
    return boxes


def retinaface_landmarks(
    pred: np.ndarray, priors: np.ndarray, variances: Sequence[float] = RETINAFACE_VARIANCES
) -> np.ndarray:
    """Landmark offsets `[N, 10]` -> normalized points `[N, 10]`."""
    pts = priors[:, None, :2] + pred.reshape(-1, 5, 2) * variances[0] * priors[:, None, 2:]
    return pts.reshape(pred.shape[0], -1)


def distance2bbox(points: np.ndarray, distance: np.ndarray, max_shape: tuple[int, int] | None = None) -> np.ndarray:
    """SCRFD (left, top, right, bottom) distances from anchor centres -> boxes, clamped at 0 (and to `max_shape` (h, w))."""
    x1 = points[:, 0] - distance[:, 0]
    y1 = points[:, 1] - distance[:, 1]
    x2 = points[:, 0] + distance[:, 2]
    y2 = points[:, 1] + distance[:, 3]
    boxes = np.maximum(np.stack([x1, y1, x2, y2], axis=-1), 0)
    if max_shape is not None:
        boxes = np.minimum(boxes, [max_shape[1], max_shape[0], max_shape[1], max_shape[0]])
    return boxes


def distance2kps(points: np.ndarray, distance: np.ndarray, max_shape: tuple[int, int] | None = None) -> np.ndarray:
    """SCRFD keypoint offsets `[N, 2k]` from anchor centres -> points `[N, 2k]` (clipped only to a `max_shape` (h, w))."""
    k = distance.shape[1] // 2
    pts = distance.reshape(-1, k, 2) + points[:, None, :]
    if max_shape is not None:
        pts = np.clip(pts, 0, [max_shape[1], max_shape[0]])
    return pts.reshape(distance.shape[0], 2 * k)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def yolov5_face_heads(
    heads: Sequence[np.ndarray],
    strides: Sequence[int] = YOLOV5_FACE_STRIDES,
    anchors: Sequence[Sequence[Sequence[float]]] = YOLOV5_FACE_ANCHORS,
) -> np.ndarray:
    """Raw per-stride YOLOv5-Face heads `[1, A, H, W, 16]` -> decoded rows `[N, 16]`.

    Reproduces the reference `Detect` layer: sigmoid on xywh, objectness and
    class; `xy = (2s - 0.5 + cell) * stride`, `wh = (2s)^2 * anchor`;
    landmarks stay linear: `raw * anchor + cell * stride`. Row order is
    (stride, anchor, row, col), as the exported decoded head flattens it.
    """
    rows = []
    for head, stride, level_anchors in zip(heads, strides, anchors):
        _, na, ny, nx, no = head.shape
        raw = head.reshape(na, ny * nx, no).astype(np.float32)
        grid = cell_grid(ny, nx)[None]  # (1, ny*nx, 2)
        anchor_wh = np.asarray(level_anchors, dtype=np.float32).reshape(na, 1, 2)
        out = np.empty_like(raw)
        s = _sigmoid(raw[..., 0:5])
        out[..., 0:2] = (s[..., 0:2] * 2.0 - 0.5 + grid) * stride
        out[..., 2:4] = (s[..., 2:4] * 2.0) ** 2 * anchor_wh
        out[..., 4] = s[..., 4]
        lm = raw[..., 5:15].reshape(na, ny * nx, 5, 2)
        out[..., 5:15] = (lm * anchor_wh[:, :, None, :] + grid[:, :, None, :] * stride).reshape(na, ny * nx, 10)
        out[..., 15:] = _sigmoid(raw[..., 15:])
        rows.append(out.reshape(-1, no))
    return np.concatenate(rows)


def xywh2xyxy(boxes: np.ndarray) -> np.ndarray:
    """Centre-size boxes -> corner boxes."""
    out = np.empty_like(boxes)
    out[:, 0] = boxes[:, 0] - boxes[:, 2] / 2
    out[:, 1] = boxes[:, 1] - boxes[:, 3] / 2
    out[:, 2] = boxes[:, 0] + boxes[:, 2] / 2
    out[:, 3] = boxes[:, 1] + boxes[:, 3] / 2
    return out


def yunet(
    cls: Sequence[np.ndarray],
    obj: Sequence[np.ndarray],
    bbox: Sequence[np.ndarray],
    kps: Sequence[np.ndarray],
    pad_size: tuple[int, int],
    strides: Sequence[int] = (8, 16, 32),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YuNet heads -> (boxes `[N, 4]` as x, y, w, h; scores `[N]`; landmarks `[N, 10]`).

    Same arithmetic as OpenCV's `FaceDetectorYN`: score = sqrt(clip(cls) *
    clip(obj)); centre = (cell + d) * stride; size = exp(d) * stride;
    landmarks = (d + cell) * stride. `pad_size` is the padded (width, height).
    """
    pad_w, pad_h = pad_size
    all_boxes, all_scores, all_kps = [], [], []
    for i, stride in enumerate(strides):
        rows, cols = pad_h // stride, pad_w // stride
        grid = cell_grid(rows, cols)
        c = np.clip(cls[i].reshape(-1), 0.0, 1.0)
        o = np.clip(obj[i].reshape(-1), 0.0, 1.0)
        all_scores.append(np.sqrt(c * o))
        b = bbox[i].reshape(-1, 4)
        centers = (grid + b[:, 0:2]) * stride
        sizes = np.exp(b[:, 2:4]) * stride
        all_boxes.append(np.concatenate([centers - sizes / 2, sizes], axis=1))
        k = kps[i].reshape(-1, 5, 2)
        all_kps.append(((k + grid[:, None, :]) * stride).reshape(-1, 10))
    return (
        np.concatenate(all_boxes).astype(np.float32),
        np.concatenate(all_scores).astype(np.float32),
        np.concatenate(all_kps).astype(np.float32),
    )
