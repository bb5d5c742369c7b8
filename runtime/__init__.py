"""Running translated models: interpreter, sessions, the onnx backend, translation cache, face math.

Importing the op set first loads the fast BLAS before MLX (see opset/blas.py);
everything else is exposed lazily.
"""

from __future__ import annotations

from opset import active_blas, load_fast_blas, malloc_tuned, tune_malloc

__all__ = ["InferenceSession", "active_blas", "load_fast_blas", "malloc_tuned", "tune_malloc"]


def __getattr__(name: str):
    if name == "InferenceSession":
        from .session import InferenceSession

        return InferenceSession
    raise AttributeError(f"module 'runtime' has no attribute {name!r}")
