"""XSeg (DeepFaceLab) face mask: aligned crop from 5 landmarks, soft mask, warped back to the image."""

from __future__ import annotations

import os
from enum import Enum

from runtime.face.alignment import face_alignment
from runtime.face.preprocess import ensure_bgr
from runtime.face.segmentation import warp_back, xseg_input, xseg_mask

import numpy as np

from ..constants import XSegWeights
from .base import BaseFaceParser

__all__ = ["XSeg"]


class XSeg(BaseFaceParser):
    """`parse(image, landmarks=(5, 2)) -> (H, W) float32` face probability in image space.

    `align_size` is the aligned crop's side (a multiple of 112 or 128);
    `blur_sigma` > 0 blurs the mask and re-sharpens its edge. The model is
    NHWC (BGR in [0, 1]); its size is read from the model (256 when dynamic).
    """

    mask_type = "probability"
    default_model = XSegWeights.DEFAULT
    default_hw = (256, 256)
    dynamic_input = True  # NHWC: the base class would read the size from the wrong axes

    def __init__(
        self,
        model_name: Enum | None = None,
        *,
        model_path: str | os.PathLike | None = None,
        align_size: int = 256,
        blur_sigma: float = 0,
        backend: str | None = None,
        mode: str = "module",
        providers: list[str] | None = None,
    ) -> None:
        super().__init__(model_name, model_path=model_path, backend=backend, mode=mode, providers=providers)
        shape = self.inputs[0].shape
        if len(shape) != 4 or shape[3] not in (3, None):
            raise ValueError(f"{self.model_path}: XSeg takes NHWC [N, H, W, 3] input, the model declares {list(shape)}")
        h, w = shape[1], shape[2]
        self.input_size = (w, h) if isinstance(h, int) and isinstance(w, int) else (256, 256)
        self.align_size = align_size
        self.blur_sigma = blur_sigma

    def preprocess(self, face_crop: np.ndarray) -> np.ndarray:
        return xseg_input(face_crop, self.input_size)

    def postprocess(self, outputs: np.ndarray, crop_size: tuple[int, int]) -> np.ndarray:
        return xseg_mask(outputs, crop_size, self.blur_sigma)

    @staticmethod
    def _check_landmarks(landmarks: np.ndarray | None) -> np.ndarray:
        if landmarks is None:
            raise ValueError(
                "XSeg requires 5-point facial landmarks for face alignment. Pass landmarks=... with shape (5, 2)."
            )
        landmarks = np.asarray(landmarks)
        if landmarks.shape != (5, 2):
            raise ValueError(f"Landmarks must have shape (5, 2), got {landmarks.shape}")
        return landmarks

    def parse_with_inverse(self, image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(crop-space mask, aligned crop, inverse 2x3 affine)."""
        landmarks = self._check_landmarks(landmarks)
        face_crop, inverse = face_alignment(ensure_bgr(image), landmarks, self.align_size)
        return self.parse_aligned(face_crop), face_crop, inverse

    def parse(self, image: np.ndarray, *, landmarks: np.ndarray | None = None) -> np.ndarray:
        image = ensure_bgr(image)
        mask, _, inverse = self.parse_with_inverse(image, landmarks)
        return warp_back(mask, inverse, image.shape[:2])

    def parse_aligned(self, face_crop: np.ndarray) -> np.ndarray:
        """Mask of an already aligned crop, at the crop's size."""
        face_crop = ensure_bgr(face_crop)
        outputs = self._infer(self.preprocess(face_crop))
        return self.postprocess(outputs, (face_crop.shape[1], face_crop.shape[0]))
