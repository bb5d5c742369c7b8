"""Matting pre/post-processing: MODNet (one image) and Robust Video Matting (frames with a recurrent state)."""

from __future__ import annotations

import cv2
import numpy as np

MODNET_STRIDE = 32


def modnet_size(height: int, width: int, target: int) -> tuple[int, int]:
    """(height, width) MODNet runs at: the short side set to `target` when the image is entirely smaller or
    larger than it (aspect kept, long side truncated), then both floored to multiples of 32."""
    if max(height, width) < target or min(height, width) > target:
        if width >= height:
            new_h, new_w = target, int(width / height * target)
        else:
            new_h, new_w = int(height / width * target), target
    else:
        new_h, new_w = height, width
    return new_h - new_h % MODNET_STRIDE, new_w - new_w % MODNET_STRIDE


def modnet_input(image: np.ndarray, target: int) -> np.ndarray:
    """BGR uint8 image -> [1, 3, H', W'] float32 RGB in [-1, 1] at `modnet_size` (area interpolation)."""
    h, w = image.shape[:2]
    new_h, new_w = modnet_size(h, w, target)
    if new_h == 0 or new_w == 0:
        raise ValueError(f"a {w}x{h} image is too small for MODNet at input_size={target} (needs 32 px per side)")
    rgb = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (new_w, new_h), interpolation=cv2.INTER_AREA)
    x = (rgb.astype(np.float32) / 255.0 - 0.5) / 0.5
    return np.ascontiguousarray(np.transpose(x, (2, 0, 1))[None])


def modnet_matte(output: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[1, 1, H', W'] matte -> (height, width) float32 at `size` (width, height), area interpolation."""
    return cv2.resize(np.asarray(output)[0, 0], tuple(size), interpolation=cv2.INTER_AREA)


def rvm_downsample_ratio(height: int, width: int, longest: int = 512) -> float:
    """RVM's automatic ratio: the network's working resolution has its long side at most `longest` px."""
    return min(longest / max(height, width), 1.0)


def rvm_input(image: np.ndarray) -> np.ndarray:
    """BGR uint8 frame -> [1, 3, H, W] float32 RGB in [0, 1] (RVM's `src`)."""
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    return np.ascontiguousarray(np.transpose(rgb, (2, 0, 1))[None])


def rvm_initial_state() -> list[np.ndarray]:
    """The four recurrent inputs of a first frame: zeros of shape [1, 1, 1, 1] (broadcast inside the network)."""
    return [np.zeros((1, 1, 1, 1), dtype=np.float32) for _ in range(4)]


def rvm_outputs(fgr: np.ndarray, pha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([1, 3, H, W] RGB foreground, [1, 1, H, W] alpha) -> (H, W, 3) BGR uint8 foreground, (H, W) float32 alpha."""
    rgb = np.transpose(np.asarray(fgr)[0], (1, 2, 0))
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    foreground = np.clip(bgr * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return foreground, np.ascontiguousarray(np.asarray(pha)[0, 0], dtype=np.float32)


def composite(image: np.ndarray, alpha: np.ndarray, background: tuple[int, int, int] | np.ndarray) -> np.ndarray:
    """`image * alpha + background * (1 - alpha)` as uint8 (background a BGR colour or an image)."""
    a = np.asarray(alpha, dtype=np.float32)[..., None]
    bg = np.broadcast_to(np.asarray(background, dtype=np.float32), image.shape)
    return np.clip(image.astype(np.float32) * a + bg * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
