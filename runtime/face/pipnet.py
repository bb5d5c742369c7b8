"""PIPNet landmark decoding: the training-time crop, the mean-face neighbour tables, heatmap + offset merge.

PIPNet predicts, per landmark, a coarse heatmap cell and a sub-cell offset,
plus what each landmark's nearest mean-face neighbours think of it. The
decoded position is the mean of the landmark's own estimate and its
neighbours' estimates. Upstream uniface 4.2.1 is the reference for every
rounding step here (crop padding by truncated 10 %, float32 arithmetic).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
MEANFACE_FILES = {98: "pipnet_meanface_wflw_98.txt", 68: "pipnet_meanface_300w_68.txt"}
NUM_NEIGHBOURS = 10  # neighbours per landmark at training time
PAD_RATIO = 0.1  # crop padding: +10 % left, right and bottom, -10 % top (the training crop)


class NeighbourTables(NamedTuple):
    """For landmark i, row i of `landmark`/`slot` lists who predicts it (landmark j, as its k-th neighbour)."""

    landmark: np.ndarray  # (num_lms, max_len) int64
    slot: np.ndarray  # (num_lms, max_len) int64

    @property
    def max_len(self) -> int:
        return int(self.landmark.shape[1])


def load_meanface(num_lms: int) -> np.ndarray:
    """The (num_lms, 2) float32 mean face for 68 (300W) or 98 (WFLW) points."""
    if num_lms not in MEANFACE_FILES:
        raise ValueError(f"PIPNet has mean faces for {sorted(MEANFACE_FILES)} landmarks, not {num_lms}")
    flat = np.loadtxt(DATA / MEANFACE_FILES[num_lms], dtype=np.float64)
    return flat.astype(np.float32).reshape(-1, 2)


def neighbour_tables(meanface: np.ndarray, num_nb: int = NUM_NEIGHBOURS) -> NeighbourTables:
    """Invert "j's nearest neighbours" into "who has i among its neighbours", padded cyclically to equal length.

    Distances are float32 squared distances and each landmark's neighbours
    are the `num_nb` nearest after itself, in argsort order, as PIPNet's
    training code ranks them.
    """
    points = np.asarray(meanface, dtype=np.float32)
    count = len(points)
    nearest = [np.argsort(np.sum((points[i] - points) ** 2, axis=1))[1 : 1 + num_nb] for i in range(count)]
    predictors: list[list[tuple[int, int]]] = [[] for _ in range(count)]
    for j, row in enumerate(nearest):
        for k, i in enumerate(row):
            predictors[int(i)].append((j, k))
    max_len = max(len(p) for p in predictors)
    if min(len(p) for p in predictors) == 0:
        raise ValueError("a landmark is nobody's neighbour; the mean face cannot be used for PIPNet decoding")
    padded = [[p[n % len(p)] for n in range(max_len)] for p in predictors]
    table = np.asarray(padded, dtype=np.int64)  # (count, max_len, 2)
    return NeighbourTables(table[..., 0], table[..., 1])


@functools.cache
def tables_for(num_lms: int, num_nb: int = NUM_NEIGHBOURS) -> NeighbourTables:
    return neighbour_tables(load_meanface(num_lms), num_nb)


def crop_box(bbox: np.ndarray, image_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x1, y1, x2, y2) inclusive pixel bounds of the training crop around `bbox`, clamped to the image."""
    img_h, img_w = image_hw
    x1, y1, x2, y2 = (float(v) for v in np.asarray(bbox).reshape(-1)[:4])
    det_w, det_h = x2 - x1 + 1, y2 - y1 + 1
    pad_w, pad_h = int(det_w * PAD_RATIO), int(det_h * PAD_RATIO)
    x1, y1, x2, y2 = x1 - pad_w, y1 + pad_h, x2 + pad_w, y2 + pad_h
    left, top = max(int(x1), 0), max(int(y1), 0)
    right, bottom = min(int(x2), img_w - 1), min(int(y2), img_h - 1)
    if right < left or bottom < top:
        raise ValueError(f"box {np.asarray(bbox)[:4].tolist()} lies outside the {img_w}x{img_h} image")
    return left, top, right, bottom


def decode(
    outputs: tuple[np.ndarray, ...] | list[np.ndarray],
    tables: NeighbourTables,
    input_hw: tuple[int, int],
    crop: tuple[int, int, int, int],
    num_nb: int = NUM_NEIGHBOURS,
) -> np.ndarray:
    """(num_lms, 2) float32 image points from the five heads (cls, x, y, nb_x, nb_y) of one face.

    `input_hw` is the network input's (height, width); `crop` the inclusive
    bounds from `crop_box` (the crop was resized to the network input).
    """
    cls_map, off_x, off_y, nb_x, nb_y = (np.asarray(o) for o in outputs)
    n, h, w = cls_map.shape[-3:]
    cells = h * w
    best = np.argmax(cls_map.reshape(n, cells), axis=1)
    cols = (best % w).astype(np.float32)
    rows = (best // w).astype(np.float32)
    pick = best[:, None]
    own_x = np.take_along_axis(off_x.reshape(n, cells), pick, axis=1)[:, 0]
    own_y = np.take_along_axis(off_y.reshape(n, cells), pick, axis=1)[:, 0]
    pick_nb = np.broadcast_to(best[:, None, None], (n, num_nb, 1))
    their_x = np.take_along_axis(nb_x.reshape(n, num_nb, cells), pick_nb, axis=2)[..., 0]
    their_y = np.take_along_axis(nb_y.reshape(n, num_nb, cells), pick_nb, axis=2)[..., 0]
    # Heatmap cells per unit crop side: input size / stride, the stride taken from the heights (as upstream).
    stride = input_hw[0] // h
    per_x, per_y = input_hw[1] / stride, input_hw[0] / stride
    x = (cols + own_x) / per_x
    y = (rows + own_y) / per_y
    nbr_x = (cols[:, None] + their_x) / per_x
    nbr_y = (rows[:, None] + their_y) / per_y
    flat = tables.landmark * num_nb + tables.slot
    merged_x = np.mean(np.concatenate([x[:, None], nbr_x.reshape(-1)[flat]], axis=1), axis=1)
    merged_y = np.mean(np.concatenate([y[:, None], nbr_y.reshape(-1)[flat]], axis=1), axis=1)
    left, top, right, bottom = crop
    merged_x = merged_x * (right - left + 1) + left
    merged_y = merged_y * (bottom - top + 1) + top
    return np.stack([merged_x, merged_y], axis=1).astype(np.float32)
