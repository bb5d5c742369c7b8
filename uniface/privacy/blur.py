"""Face anonymization: pixelate, gaussian, median, blackout and elliptical blurs (uniface 4.x's `BlurFace`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import cv2
import numpy as np

from ..predictor import bbox_of

__all__ = ["BlurFace", "EllipticalBlur"]


def _odd_kernel(extent: float, strength: float) -> int:
    """An odd kernel size: `extent / 7 * strength`, at least 3."""
    return max(3, int(extent / 7 * strength)) | 1


def gaussian_blur(region: np.ndarray, strength: float = 3.0) -> np.ndarray:
    k = _odd_kernel(min(region.shape[:2]), strength)
    return cv2.GaussianBlur(region, (k, k), 0)


def median_blur(region: np.ndarray, strength: float = 3.0) -> np.ndarray:
    return cv2.medianBlur(region, _odd_kernel(min(region.shape[:2]), strength))


def pixelate(region: np.ndarray, blocks: int = 10) -> np.ndarray:
    """Down to about `blocks` cells per side (bilinear), back up with nearest-neighbour."""
    h, w = region.shape[:2]
    small = cv2.resize(region, (max(1, w // blocks), max(1, h // blocks)), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def blackout(region: np.ndarray, color: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    return np.full_like(region, color)


class EllipticalBlur:
    """Gaussian blur inside a feathered ellipse around each box (`margin` px beyond it): follows the face's oval."""

    def __init__(self, *, blur_strength: float = 3.0, margin: int = 20):
        self.blur_strength = blur_strength
        self.margin = margin

    def __call__(self, image: np.ndarray, bboxes: Sequence[Any], inplace: bool = False) -> np.ndarray:
        if not inplace:
            image = image.copy()
        h, w = image.shape[:2]
        for bbox in bboxes:
            x1, y1, x2, y2 = map(int, bbox[:4])
            axes = ((x2 - x1) // 2 + self.margin, (y2 - y1) // 2 + self.margin)
            mask = np.zeros((h, w), dtype=np.float32)
            cv2.ellipse(mask, ((x1 + x2) // 2, (y1 + y2) // 2), axes, 0, 0, 360, 255, -1)
            mask = (cv2.GaussianBlur(mask, (51, 51), 0) / 255.0)[:, :, np.newaxis]
            k = _odd_kernel(min(axes[1], axes[0]) * 2, self.blur_strength)
            blurred = cv2.GaussianBlur(image, (k, k), 0)
            blended = (blurred * mask + image * (1 - mask)).astype(np.uint8)
            if inplace:
                image[...] = blended
            else:
                image = blended
        return image


class BlurFace:
    """Anonymize faces: `method` is 'pixelate' (default), 'gaussian', 'median', 'blackout' or 'elliptical'.

    `anonymize(image, faces)` takes `Face` objects or 1.x detection dicts;
    `blur_regions(image, bboxes)` takes boxes. Both return a new image
    unless `inplace=True`.
    """

    VALID_METHODS: ClassVar[set[str]] = {"gaussian", "pixelate", "blackout", "elliptical", "median"}

    def __init__(
        self,
        *,
        method: str = "pixelate",
        blur_strength: float = 3.0,
        pixel_blocks: int = 15,
        color: tuple[int, int, int] = (0, 0, 0),
        margin: int = 20,
    ):
        self.method = method.lower()
        if self.method not in self.VALID_METHODS:
            raise ValueError(f"Invalid blur method: '{method}'. Choose from: {sorted(self.VALID_METHODS)}")
        self._blur_strength = blur_strength
        self._pixel_blocks = pixel_blocks
        self._color = color
        self._margin = margin
        if self.method == "elliptical":
            self._elliptical = EllipticalBlur(blur_strength=blur_strength, margin=margin)

    def _blur_region(self, region: np.ndarray) -> np.ndarray:
        if self.method == "gaussian":
            return gaussian_blur(region, self._blur_strength)
        if self.method == "median":
            return median_blur(region, self._blur_strength)
        if self.method == "pixelate":
            return pixelate(region, self._pixel_blocks)
        return blackout(region, self._color)

    def anonymize(self, image: np.ndarray, faces: Sequence[Any], inplace: bool = False) -> np.ndarray:
        """Blur every face's box."""
        return self.blur_regions(image, [bbox_of(f) for f in faces], inplace)

    def blur_regions(self, image: np.ndarray, bboxes: Sequence[Any], inplace: bool = False) -> np.ndarray:
        """Blur rectangular regions `[x1, y1, x2, y2]` (clipped to the image; empty ones skipped)."""
        if len(bboxes) == 0:
            return image if inplace else image.copy()
        if self.method == "elliptical":
            return self._elliptical(image, bboxes, inplace)
        if not inplace:
            image = image.copy()
        h, w = image.shape[:2]
        for bbox in bboxes:
            x1, y1, x2, y2 = map(int, bbox[:4])
            x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
            if x2 > x1 and y2 > y1:
                image[y1:y2, x1:x2] = self._blur_region(image[y1:y2, x1:x2])
        return image

    def __repr__(self) -> str:
        return f"BlurFace(method='{self.method}')"
