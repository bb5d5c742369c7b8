"""Finding and reading images, and embedding the faces found in them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runtime.face.preprocess import ensure_bgr

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


class ImageReadError(ValueError):
    """An image file is missing or cannot be decoded (the message names it)."""


def list_images(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Image files under `folder` (by suffix), sorted, so every run walks them in the same order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_image(path: str | os.PathLike) -> tuple[np.ndarray | None, str]:
    """(BGR uint8 image or None, note): grayscale/alpha/16-bit images are converted, with a note saying so."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        return None, "unreadable (not an image, or a format OpenCV cannot decode)"
    note = ""
    if raw.ndim == 2 or (raw.ndim == 3 and raw.shape[2] == 1):
        note = "grayscale, converted to BGR"
    elif raw.ndim == 3 and raw.shape[2] == 4:
        note = "had an alpha channel, dropped"
    if raw.dtype != np.uint8:
        note = (note + "; " if note else "") + f"{raw.dtype} pixels scaled to 8-bit"
    try:
        return ensure_bgr(raw), note
    except ValueError as exc:
        return None, f"unsupported image layout: {exc}"


def load_image(item: Any) -> np.ndarray:
    """A BGR image from a path or an array; `ImageReadError` naming the file otherwise."""
    if isinstance(item, np.ndarray):
        return ensure_bgr(item)
    path = Path(item)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such image file")
    image, note = read_image(path)
    if image is None:
        raise ImageReadError(f"{path}: {note}")
    return image


def face_field(face: Any, name: str) -> Any:
    """`face[name]` for detection dicts and 4.x Face objects alike."""
    return face[name] if isinstance(face, dict) else getattr(face, name)


def embed_faces(recognizer: Any, image: np.ndarray, faces: Sequence[Any]) -> np.ndarray:
    """Unit embeddings [N, D] of the detected `faces` of `image`, one batched forward."""
    landmarks = [np.asarray(face_field(f, "landmarks"), dtype=np.float32) for f in faces]
    if hasattr(recognizer, "get_normalized_embeddings"):
        return recognizer.get_normalized_embeddings(image, landmarks)
    return np.concatenate(
        [np.asarray(recognizer.get_normalized_embedding(image, lm)).reshape(1, -1) for lm in landmarks]
    )
