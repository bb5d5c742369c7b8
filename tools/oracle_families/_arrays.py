"""Compact, lossless-enough JSON form for the image-sized arrays some families return (masks, mattes).

Label maps are stored as 8-bit PNG (exact); soft masks in [0, 1] as 16-bit
PNG of `round(value * 65535)` (steps of 1.5e-5, an order of magnitude below
the 1e-4 the tests compare with), both base64 in the fixture. A soft mask
larger than `max_values` is stored on a regular grid, every `stride`-th row
and column (a random-weight matte does not compress), with the full
array's mean, min and max beside it. Stdlib at import time (this module is
loaded in the upstream venv too).
"""

from __future__ import annotations

import base64
import math
from typing import Any

UNIT_SCALE = 65535.0
UNIT_STEP = 1.0 / UNIT_SCALE


def encode_labels(labels: Any) -> dict[str, Any]:
    """(H, W) uint8 class ids -> {"shape", "png8"}."""
    import cv2
    import numpy as np

    arr = np.ascontiguousarray(labels, dtype=np.uint8)
    ok, buf = cv2.imencode(".png", arr)
    if not ok:
        raise ValueError("PNG encoding failed")
    return {"shape": list(arr.shape), "png8": base64.b64encode(buf.tobytes()).decode("ascii")}


def encode_unit(values: Any, max_values: int = 16384) -> dict[str, Any]:
    """(H, W) float values in [0, 1] -> {"shape", "stride", "png16", "mean", "min", "max"} (statistics exact)."""
    import cv2
    import numpy as np

    arr = np.asarray(values, dtype=np.float64)
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(f"values outside [0, 1]: {arr.min()}..{arr.max()}")
    stride = max(1, math.ceil(math.sqrt(arr.size / max_values)))
    q = np.round(arr[::stride, ::stride] * UNIT_SCALE).astype(np.uint16)
    ok, buf = cv2.imencode(".png", q)
    if not ok:
        raise ValueError("PNG encoding failed")
    return {
        "shape": list(arr.shape),
        "stride": stride,
        "png16": base64.b64encode(buf.tobytes()).decode("ascii"),
        "mean": float(arr.mean()) if arr.size else 0.0,
        "min": float(arr.min()) if arr.size else 0.0,
        "max": float(arr.max()) if arr.size else 0.0,
    }


def decode(entry: dict[str, Any]) -> Any:
    """The array of `encode_labels` (uint8), or the grid of `encode_unit` (float64, quantized; `sample` picks
    the same grid from a full array)."""
    import cv2
    import numpy as np

    raw = np.frombuffer(base64.b64decode(entry.get("png8") or entry["png16"]), dtype=np.uint8)
    arr = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ValueError("fixture array is not a readable PNG")
    if "png8" in entry:
        return arr.reshape(entry["shape"])
    return arr.astype(np.float64) / UNIT_SCALE


def sample(full: Any, entry: dict[str, Any]) -> Any:
    """The grid of `full` that `encode_unit` stored for `entry`."""
    stride = entry.get("stride", 1)
    return full[::stride, ::stride]
