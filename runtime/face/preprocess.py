"""Image preparation: colour layout checks, resizing/letterboxing, input tensors."""

from __future__ import annotations

import cv2
import numpy as np


class ImageFormatError(ValueError):
    """The array is not an image the detectors can read (wrong rank, channels or dtype)."""


def ensure_bgr(image: np.ndarray) -> np.ndarray:
    """Return an 8-bit, 3-channel BGR view of `image` (grayscale and BGRA are converted).

    Why: uniface models expect OpenCV's BGR uint8 layout; grayscale scans and
    PNGs with alpha are common inputs and should work rather than crash.
    """
    if image is None:
        raise ImageFormatError(
            "got None instead of an image (cv2.imread returns None for a missing or unreadable file)"
        )
    if not isinstance(image, np.ndarray):
        raise ImageFormatError(f"expected a numpy image array, got {type(image).__name__}")
    if image.size == 0:
        raise ImageFormatError(f"the image is empty (shape {image.shape})")
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            image = (image // 257).astype(np.uint8)
        elif np.issubdtype(image.dtype, np.floating) and image.size and float(np.nanmax(image)) <= 1.0:
            image = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
        else:
            image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3:
        raise ImageFormatError(f"expected an HxW or HxWxC image, got shape {image.shape}")
    channels = image.shape[2]
    if channels == 3:
        return image
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise ImageFormatError(f"expected 1, 3 or 4 channels, got {channels}")


def resize_top_left(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Fit `image` into a black (width, height) canvas at the top-left, keeping aspect.

    Returns the canvas and the factor that maps original pixels to canvas
    pixels (RetinaFace/SCRFD reference preprocessing: `int()` truncation of
    the resized side, factor taken from the height).
    """
    width, height = size
    im_ratio = float(image.shape[0]) / image.shape[1]
    if im_ratio > height / width:
        new_h = height
        new_w = int(new_h / im_ratio)
    else:
        new_w = width
        new_h = int(new_w * im_ratio)
    factor = float(new_h) / image.shape[0]
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(image, (new_w, new_h))
    return canvas, factor


def letterbox_center(image: np.ndarray, size: int, pad_value: int = 114) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Fit `image` centred into a `size` x `size` canvas filled with `pad_value`.

    Returns (canvas, scale, (pad_left, pad_top)); YOLOv5-Face reference
    preprocessing (truncated resized sides, floor-halved padding).
    """
    h, w = image.shape[:2]
    scale = min(size / h, size / w)
    new_h, new_w = int(h * scale), int(w * scale)
    canvas = np.full((size, size, 3), pad_value, dtype=np.uint8)
    pad_h, pad_w = (size - new_h) // 2, (size - new_w) // 2
    canvas[pad_h : pad_h + new_h, pad_w : pad_w + new_w] = cv2.resize(
        image, (new_w, new_h), interpolation=cv2.INTER_LINEAR
    )
    return canvas, scale, (pad_w, pad_h)


def to_nchw(image: np.ndarray) -> np.ndarray:
    """HxWxC float image -> contiguous float32 [1, C, H, W] (contiguity matters for MLX speed)."""
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)


def blob(
    image: np.ndarray, size: tuple[int, int], mean: float = 127.5, std: float = 127.5, swap_rb: bool = True
) -> np.ndarray:
    """`cv2.dnn.blobFromImage(image, 1/std, size, (mean,)*3, swapRB)`: the recognizers' input."""
    out = cv2.dnn.blobFromImage(image, 1.0 / std, size, (mean, mean, mean), swapRB=swap_rb)
    return np.ascontiguousarray(out, dtype=np.float32)


def pad_to_multiple(image: np.ndarray, multiple: int = 32) -> tuple[np.ndarray, tuple[int, int]]:
    """Zero-pad bottom/right up to a multiple of `multiple`; returns (image, (pad_w, pad_h) sizes)."""
    h, w = image.shape[:2]
    ph, pw = ((h - 1) // multiple + 1) * multiple, ((w - 1) // multiple + 1) * multiple
    if (ph, pw) == (h, w):
        return image, (pw, ph)
    out = np.zeros((ph, pw) + image.shape[2:], dtype=image.dtype)
    out[:h, :w] = image
    return out, (pw, ph)


def normalize_channels(
    image: np.ndarray, mean: float | tuple[float, ...], std: float | tuple[float, ...], swap_rb: bool = True
) -> np.ndarray:
    """`(image - mean) / std` per channel (RGB order when `swap_rb`), as `[1, 3, H, W]` float32."""
    pixels = cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if swap_rb else image
    pixels = pixels.astype(np.float32)
    out = (pixels - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return to_nchw(out)
