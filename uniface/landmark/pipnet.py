"""PIPNet landmarks (98 WFLW or 68 300W points): asymmetric training crop, heatmap + neighbour decoding."""

from __future__ import annotations

import os
from enum import Enum
from typing import Any

from runtime.face import pipnet
from runtime.face.imagenet import MEAN, STD, imagenet_input
from runtime.face.preprocess import ensure_bgr

import numpy as np

from ..constants import PIPNetWeights
from ..predictor import bbox_of
from .base import BaseLandmarker

__all__ = ["PIPNet"]


class PIPNet(BaseLandmarker):
    """`get_landmarks(image, bbox) -> (98 or 68, 2)` float32 image points.

    The point count, input size and heatmap size are read from the model;
    `bbox` may be `[x1, y1, x2, y2]`, a `Face` or a 1.x detection dict.
    """

    default_model = PIPNetWeights.WFLW_98
    default_hw = (256, 256)

    def __init__(
        self,
        model_name: Enum | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        super().__init__(model_name, model_path=model_path, backend=backend, mode=mode, providers=providers)
        if len(self.outputs) != 5:
            raise ValueError(
                f"{self.model_path}: PIPNet has five outputs (cls, x, y, nb_x, nb_y), this model has "
                f"{len(self.outputs)}"
            )
        self.input_mean, self.input_std = MEAN, STD
        self.num_neighbors = pipnet.NUM_NEIGHBOURS
        self.input_w, self.input_h = self.input_size
        cls_shape = self.outputs[0].shape
        self.num_lms = int(cls_shape[1])
        self.feat_h = cls_shape[2] if isinstance(cls_shape[2], int) else self.input_h // 32
        self.feat_w = cls_shape[3] if isinstance(cls_shape[3], int) else self.input_w // 32
        self.net_stride = self.input_h // self.feat_h
        self.tables = pipnet.tables_for(self.num_lms, self.num_neighbors)

    def preprocess(self, image: np.ndarray, bbox: Any) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """(input tensor, crop bounds): the padded box crop, resized, RGB, ImageNet-normalized."""
        crop = pipnet.crop_box(bbox_of(bbox), image.shape[:2])
        left, top, right, bottom = crop
        return imagenet_input(image[top : bottom + 1, left : right + 1], self.input_size), crop

    def postprocess(self, outputs: list[np.ndarray], crop: tuple[int, int, int, int]) -> np.ndarray:
        return pipnet.decode(outputs, self.tables, (self.input_h, self.input_w), crop, self.num_neighbors)

    def get_landmarks(self, image: np.ndarray, bbox: Any) -> np.ndarray:
        """(num_lms, 2) landmarks of the face in `bbox`, in image pixels."""
        tensor, crop = self.preprocess(ensure_bgr(image), bbox)
        return self.postprocess(self.session.run({self.input_name: tensor}), crop)
