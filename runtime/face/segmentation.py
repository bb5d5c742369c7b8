"""Face parsing read-outs: BiSeNet class maps and XSeg soft masks (crop, sharpen, warp back)."""

from __future__ import annotations

import cv2
import numpy as np

# CelebAMask-HQ classes in BiSeNet's output order.
PARSING_LABELS = (
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear", "ear_r",
    "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth", "hair", "hat",
)  # fmt: skip


def class_map(logits: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[1, C, H, W] logits -> (height, width) uint8 labels at `size` (width, height), nearest-neighbour."""
    labels = np.asarray(logits)[0].argmax(0).astype(np.uint8)
    return cv2.resize(labels, tuple(size), interpolation=cv2.INTER_NEAREST)


def xseg_input(face_crop: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Aligned BGR crop -> [1, H, W, 3] float32 in [0, 1] (XSeg is NHWC and keeps BGR)."""
    image = cv2.resize(face_crop, tuple(size), interpolation=cv2.INTER_LINEAR)
    return (image.astype(np.float32) / 255.0)[None]


def xseg_mask(output: np.ndarray, crop_size: tuple[int, int], blur_sigma: float = 0.0) -> np.ndarray:
    """Model output -> float32 mask at `crop_size` (width, height) in [0, 1].

    With `blur_sigma` > 0 the mask is Gaussian-blurred and then [0.5, 1]
    is stretched to [0, 1], which re-sharpens the softened edge.
    """
    mask = np.asarray(output).squeeze().clip(0, 1).astype(np.float32)
    mask = cv2.resize(mask, tuple(crop_size), interpolation=cv2.INTER_LINEAR)
    if blur_sigma > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), blur_sigma)
        mask = (mask.clip(0.5, 1) - 0.5) * 2
    return mask


def warp_back(mask: np.ndarray, inverse: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """Crop-space mask -> image-space mask through the inverse alignment (zeros outside the crop)."""
    h, w = image_hw
    return cv2.warpAffine(mask, inverse, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
