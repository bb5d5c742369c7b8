"""Running translated models: interpreter, sessions, the onnx backend, fast BLAS.

The fast BLAS must be loaded before MLX is imported, so this package's
__init__ loads it first (and sets glibc's allocation thresholds, see
allocator.py) and exposes everything else lazily.
"""

from __future__ import annotations

from .allocator import malloc_tuned, tune_malloc
from .blas import active_blas, load_fast_blas

load_fast_blas()
tune_malloc()

__all__ = ["InferenceSession", "active_blas", "load_fast_blas", "malloc_tuned", "tune_malloc"]


def __getattr__(name: str):
    if name == "InferenceSession":
        from .session import InferenceSession

        return InferenceSession
    raise AttributeError(f"module 'runtime' has no attribute {name!r}")
