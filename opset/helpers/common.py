"""Helpers shared by several op families."""

from __future__ import annotations

import mlx.core as mx
import numpy as np

from . import helper


@helper
def shape_of(x):
    """ONNX Shape: the run-time shape as an int64 array."""
    return mx.array(x.shape, dtype=mx.int64)


@helper
def to_ints(a):
    """A small int array (e.g. a computed shape) as a Python list."""
    return [int(v) for v in np.array(a).reshape(-1)]


@helper(uses=("to_ints",))
def reshape_to(x, shape, allowzero=0):
    """ONNX Reshape with a run-time shape tensor (0 copies a dim unless allowzero)."""
    dims = to_ints(shape)
    if not allowzero:
        dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    if -1 in dims:  # resolve -1 here: MLX cannot infer it for empty tensors
        known = 1
        for d in dims:
            known *= d if d != -1 else 1
        dims[dims.index(-1)] = x.size // known if known else 0
    return mx.reshape(x, dims)
