"""The op set: everything a translated program may call, and nothing about ONNX.

This is the bottom floor of the house. The translator lowers ONNX graphs to
calls of these functions; the op-list interpreter and the generated modules
execute them. It holds:

- `functions`: the allowlist (MLX functions by name, helpers, native kernels);
- `helpers`: small MLX functions the lowering needs beyond MLX's own;
- `native`: the C++ CPU kernels (an MLX extension) with pure-MLX fallbacks;
- `program`: the lowered program's data model (calls, refs, nested blocks);
- `execute`: running lowered calls on MLX arrays;
- `serialize`: the op-list JSON format, written by the translator and read by
  the interpreter;
- `blas` / `allocator`: process setup that must happen before MLX loads.

The fast BLAS must be loaded before MLX is imported, so this package's
__init__ loads it first (and sets glibc's allocation thresholds).
"""

from __future__ import annotations

from .allocator import malloc_tuned, tune_malloc
from .blas import active_blas, load_fast_blas

load_fast_blas()
tune_malloc()

__all__ = ["active_blas", "load_fast_blas", "malloc_tuned", "tune_malloc"]
