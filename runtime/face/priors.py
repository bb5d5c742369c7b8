"""Anchor grids: RetinaFace priors, SCRFD anchor centres, YOLO and YuNet cell grids."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

RETINAFACE_MIN_SIZES = ((16, 32), (64, 128), (256, 512))
RETINAFACE_STEPS = (8, 16, 32)
RETINAFACE_VARIANCES = (0.1, 0.2)

# yolov5-face anchors (pixels), one row of three (w, h) pairs per stride 8/16/32.
YOLOV5_FACE_ANCHORS = (
    ((4, 5), (8, 10), (13, 16)),
    ((23, 29), (43, 55), (73, 105)),
    ((146, 217), (231, 300), (335, 433)),
)
YOLOV5_FACE_STRIDES = (8, 16, 32)


def retinaface_priors(
    image_size: tuple[int, int],
    min_sizes: Sequence[Sequence[int]] = RETINAFACE_MIN_SIZES,
    steps: Sequence[int] = RETINAFACE_STEPS,
) -> np.ndarray:
    """Priors `[cx, cy, w, h]` normalized to the input, for an input of (height, width).

    Order matches the network's flattened heads: stride, then row, column,
    then anchor size. No clipping (the reference configuration has clip off).
    """
    height, width = image_size
    levels = []
    for sizes, step in zip(min_sizes, steps):
        rows, cols = math.ceil(height / step), math.ceil(width / step)
        cy, cx = np.meshgrid(
            (np.arange(rows) + 0.5) * step / height, (np.arange(cols) + 0.5) * step / width, indexing="ij"
        )
        level = np.empty((rows * cols, len(sizes), 4), dtype=np.float64)
        level[:, :, 0] = cx.reshape(-1, 1)
        level[:, :, 1] = cy.reshape(-1, 1)
        level[:, :, 2] = np.asarray(sizes, dtype=np.float64) / width
        level[:, :, 3] = np.asarray(sizes, dtype=np.float64) / height
        levels.append(level.reshape(-1, 4))
    return np.concatenate(levels).astype(np.float32)


def anchor_centers(rows: int, cols: int, stride: int, num_anchors: int = 1) -> np.ndarray:
    """SCRFD anchor centres `(x, y)` in input pixels, each repeated `num_anchors` times."""
    ys, xs = np.mgrid[:rows, :cols]
    centers = (np.stack([xs, ys], axis=-1).astype(np.float32) * stride).reshape(-1, 2)
    if num_anchors > 1:
        centers = np.repeat(centers, num_anchors, axis=0)
    return centers


def cell_grid(rows: int, cols: int) -> np.ndarray:
    """Integer cell coordinates `(col, row)` in row-major order, shape (rows*cols, 2)."""
    ys, xs = np.mgrid[:rows, :cols]
    return np.stack([xs.ravel(), ys.ravel()], axis=-1).astype(np.float32)
