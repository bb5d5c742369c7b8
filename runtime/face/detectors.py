"""Per-detector post-processing: raw network outputs -> (detections [N, 5], landmarks [N, 5, 2]).

Each function reproduces the reference pipeline of its model family step
for step (threshold comparison, sort, NMS flavour, rescaling), because a
different order or an off-by-one convention changes which faces survive.
Detections are rows `[x1, y1, x2, y2, score]` in original-image pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import decode
from .nms import nms, nms_int_rects
from .priors import anchor_centers

EMPTY = (np.zeros((0, 5), dtype=np.float32), np.zeros((0, 5, 2), dtype=np.float32))


def retinaface(
    outputs: Sequence[np.ndarray],
    priors: np.ndarray,
    input_wh: tuple[int, int],
    resize_factor: float,
    conf_thresh: float,
    nms_thresh: float,
    pre_nms_topk: int,
    post_nms_topk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """loc/conf/landmark heads (conf already softmaxed) -> faces; keeps scores strictly above `conf_thresh`."""
    loc, conf, landm = (np.asarray(o).reshape(-1, o.shape[-1]) for o in outputs[:3])
    boxes = decode.retinaface_boxes(loc, priors)
    lms = decode.retinaface_landmarks(landm, priors)
    w, h = input_wh
    boxes = boxes * np.array([w, h] * 2) / resize_factor
    lms = lms * np.array([w, h] * 5) / resize_factor
    scores = conf[:, 1]
    mask = scores > conf_thresh
    boxes, lms, scores = boxes[mask], lms[mask], scores[mask]
    order = scores.argsort()[::-1][:pre_nms_topk]
    dets = np.hstack((boxes[order], scores[order, None])).astype(np.float32, copy=False)
    lms = lms[order]
    keep = nms(dets, nms_thresh)
    dets, lms = dets[keep][:post_nms_topk], lms[keep][:post_nms_topk]
    return dets, lms.reshape(-1, 5, 2).astype(np.float32)


def scrfd(
    outputs: Sequence[np.ndarray],
    input_hw: tuple[int, int],
    resize_factor: float,
    conf_thresh: float,
    nms_thresh: float,
    strides: Sequence[int] = (8, 16, 32),
    num_anchors: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """score/bbox/kps heads per stride (in that output order) -> faces; keeps scores `>=` `conf_thresh`."""
    n = len(strides)
    scores_l, boxes_l, kps_l = [], [], []
    for i, stride in enumerate(strides):
        scores = np.asarray(outputs[i]).reshape(-1, 1)
        dist = np.asarray(outputs[n + i]).reshape(-1, 4) * stride
        kdist = np.asarray(outputs[2 * n + i]).reshape(-1, 10) * stride
        centers = anchor_centers(input_hw[0] // stride, input_hw[1] // stride, stride, num_anchors)
        pos = np.where(scores >= conf_thresh)[0]
        scores_l.append(scores[pos])
        boxes_l.append(decode.distance2bbox(centers[pos], dist[pos]))
        kps_l.append(decode.distance2kps(centers[pos], kdist[pos]).reshape(-1, 5, 2))
    scores = np.vstack(scores_l)
    order = scores.ravel().argsort()[::-1]
    boxes = np.vstack(boxes_l) / resize_factor
    lms = np.vstack(kps_l) / resize_factor
    dets = np.hstack((boxes, scores)).astype(np.float32, copy=False)[order]
    keep = nms(dets, nms_thresh)
    return dets[keep], lms[order][keep].astype(np.float32)


def yolov5_face(
    decoded: np.ndarray,
    scale: float,
    pad: tuple[int, int],
    conf_thresh: float,
    nms_thresh: float,
    max_det: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Decoded rows `[N, 16]` (xywh, obj, 10 landmark coords, cls) -> faces; keeps objectness `>=` `conf_thresh`."""
    pred = decoded.reshape(-1, decoded.shape[-1])
    pred = pred[pred[:, 4] >= conf_thresh]
    if len(pred) == 0:
        return EMPTY
    boxes = decode.xywh2xyxy(pred[:, :4])
    scores = pred[:, 4]
    lms = pred[:, 5:15].copy()
    keep = nms(np.hstack((boxes, scores[:, None])).astype(np.float32, copy=False), nms_thresh)[:max_det]
    boxes, scores, lms = boxes[keep], scores[keep], lms[keep]
    pad_w, pad_h = pad
    boxes[:, [0, 2]] = (boxes[:, [0, 2]] - pad_w) / scale
    boxes[:, [1, 3]] = (boxes[:, [1, 3]] - pad_h) / scale
    lms = lms.reshape(-1, 5, 2)
    lms[..., 0] = (lms[..., 0] - pad_w) / scale
    lms[..., 1] = (lms[..., 1] - pad_h) / scale
    return np.concatenate([boxes, scores[:, None]], axis=1).astype(np.float32), lms.astype(np.float32)


def yunet(
    outputs: dict[str, np.ndarray],
    pad_size: tuple[int, int],
    resize_factor: float,
    conf_thresh: float,
    nms_thresh: float,
    top_k: int,
    strides: Sequence[int] = (8, 16, 32),
) -> tuple[np.ndarray, np.ndarray]:
    """YuNet `cls_*`/`obj_*`/`bbox_*`/`kps_*` outputs (by name) -> faces, as OpenCV's FaceDetectorYN."""
    heads = {k: [outputs[f"{k}_{s}"] for s in strides] for k in ("cls", "obj", "bbox", "kps")}
    boxes, scores, kps = decode.yunet(heads["cls"], heads["obj"], heads["bbox"], heads["kps"], pad_size, strides)
    cand = np.where(scores >= conf_thresh)[0]
    boxes, scores, kps = boxes[cand], scores[cand], kps[cand]
    if len(cand) > 1:
        keep = nms_int_rects(boxes, scores, conf_thresh, nms_thresh, top_k)
        boxes, scores, kps = boxes[keep], scores[keep], kps[keep]
    xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1) / resize_factor
    dets = np.concatenate([xyxy, scores[:, None]], axis=1).astype(np.float32)
    return dets, (kps.reshape(-1, 5, 2) / resize_factor).astype(np.float32)


def select_top(
    dets: np.ndarray,
    lms: np.ndarray,
    max_num: int,
    image_hw: tuple[int, int],
    metric: str = "max",
    center_weight: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the `max_num` largest faces (`metric='max'`), or large-and-central ones (any other metric)."""
    if not 0 < max_num < dets.shape[0]:
        return dets, lms
    area = (dets[:, 2] - dets[:, 0]) * (dets[:, 3] - dets[:, 1])
    cy, cx = image_hw[0] // 2, image_hw[1] // 2
    off2 = ((dets[:, 0] + dets[:, 2]) / 2 - cx) ** 2 + ((dets[:, 1] + dets[:, 3]) / 2 - cy) ** 2
    values = area if metric == "max" else area - off2 * center_weight
    idx = np.argsort(values)[::-1][:max_num]
    return dets[idx], lms[idx]
