"""Privacy: `BlurFace` / `EllipticalBlur` (uniface 4.x) and the one-call `anonymize_faces` (1.x)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .blur import BlurFace, EllipticalBlur

__all__ = ["BlurFace", "EllipticalBlur", "anonymize_faces"]


def anonymize_faces(
    image: np.ndarray,
    detector: Any = None,
    method: str = "pixelate",
    blur_strength: float = 3.0,
    pixel_blocks: int = 10,
    confidence_threshold: float | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """Detect (RetinaFace unless `detector` is given) and blur every face; returns a new image.

    Detector options go in `**kwargs`; the threshold is accepted under both
    generations' names (`confidence_threshold`, 1.x's `conf_thresh`), 0.5 by default.
    """
    if detector is None:
        from ..detection import RetinaFace

        if confidence_threshold is None and "conf_thresh" not in kwargs:
            confidence_threshold = 0.5
        if confidence_threshold is not None:
            kwargs["confidence_threshold"] = confidence_threshold
        detector = RetinaFace(**kwargs)
    faces = detector.detect(image)
    return BlurFace(method=method, blur_strength=blur_strength, pixel_blocks=pixel_blocks).anonymize(image, faces)
