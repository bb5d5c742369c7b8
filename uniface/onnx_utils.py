"""uniface's onnxruntime helpers (1.x and 4.x), for code that opens sessions itself.

The facade's own models run through `uniface.backend` (MLX, or onnxruntime
with `UNIFACE_BACKEND=onnx`); these two functions only mirror upstream's
public helpers.
"""

from __future__ import annotations

import functools
import logging

log = logging.getLogger("uniface")

__all__ = ["create_onnx_session", "get_available_providers"]


@functools.lru_cache(maxsize=1)
def get_available_providers() -> list[str]:
    """onnxruntime providers in upstream's order of preference: CoreML, CUDA, then the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    preferred = [p for p in ("CoreMLExecutionProvider", "CUDAExecutionProvider") if p in available]
    return [*preferred, "CPUExecutionProvider"]


def create_onnx_session(model_path: str, providers: list[str] | None = None):
    """An `onnxruntime.InferenceSession` (warnings silenced), RuntimeError naming the file if it cannot be opened."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(
            str(model_path), sess_options=opts, providers=providers or get_available_providers()
        )
    except Exception as exc:
        raise RuntimeError(f"Failed to initialize ONNX Runtime session for {model_path}: {exc}") from exc
