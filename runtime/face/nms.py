"""Non-maximum suppression, in the two flavours the upstream detectors use."""

from __future__ import annotations

import cv2
import numpy as np


def nms(dets: np.ndarray, threshold: float, *, plus_one: bool = True) -> list[int]:
    """Greedy NMS over rows `[x1, y1, x2, y2, score]`; returns kept row indices, best first.

    `plus_one=True` measures widths as `x2 - x1 + 1` (the pixel-inclusive
    convention RetinaFace/SCRFD/YOLOv5-Face reference code uses); a box is
    suppressed when its IoU with a kept box is strictly above `threshold`.
    The loop runs once per kept box; each step is vectorized over the rest.
    """
    if dets.shape[0] == 0:
        return []
    x1, y1, x2, y2, scores = (dets[:, i] for i in range(5))
    one = 1.0 if plus_one else 0.0
    areas = (x2 - x1 + one) * (y2 - y1 + one)
    order = scores.argsort()[::-1]
    keep: list[int] = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + one)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + one)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[iou <= threshold]
    return keep


def nms_int_rects(
    boxes_xywh: np.ndarray, scores: np.ndarray, score_thresh: float, nms_thresh: float, top_k: int
) -> list[int]:
    """OpenCV `dnn::NMSBoxes` on integer rectangles, as `FaceDetectorYN` calls it.

    The boxes are truncated to ints first (C++ `int(float)` truncates toward
    zero), keeps scores strictly above `score_thresh`, sorts stably by score
    and considers at most `top_k` candidates.
    """
    if boxes_xywh.shape[0] == 0:
        return []
    rects = np.trunc(boxes_xywh).astype(np.int64).tolist()
    idx = cv2.dnn.NMSBoxes(
        rects, scores.astype(np.float32).tolist(), float(score_thresh), float(nms_thresh), top_k=int(top_k)
    )
    return [int(i) for i in np.asarray(idx).reshape(-1)]
