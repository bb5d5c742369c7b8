"""Helpers for reductions, softmax, normalization and losses.

Used only where the lowering cannot decide at translation time (axes given as a
run-time tensor) or where MLX has a fused kernel outside the `mx.` namespace.
"""

from __future__ import annotations

import mlx.core as mx
import numpy as np

from . import helper


@helper
def reduce_dynamic(x, axes, kind, keepdims=True, noop=False):
    """ONNX Reduce* with a run-time axes tensor.

    kind: sum, mean, max, min, prod or logsumexp. Empty axes reduce everything,
    or return x unchanged when noop (noop_with_empty_axes). Reducing an empty
    set gives the reduction's identity (0 for sum, -inf for max and logsumexp).
    """
    rank = x.ndim
    ax = sorted({int(a) % max(rank, 1) for a in np.array(axes).reshape(-1)})
    if not ax:
        if noop:
            return x
        ax = list(range(rank))
    if x.size == 0:
        # Built directly: MLX can hang reducing an empty array that came from numpy.
        shape = [1 if i in ax else d for i, d in enumerate(x.shape) if keepdims or i not in ax]
        if kind in ("sum", "prod", "mean"):
            fill = {"sum": 0, "prod": 1, "mean": float("nan")}[kind]
        elif x.dtype == mx.bool_:
            fill = kind == "min"
        elif mx.issubdtype(x.dtype, mx.integer):
            info = np.iinfo(np.array(mx.zeros((), x.dtype)).dtype)
            fill = int(info.max if kind == "min" else info.min)
        else:
            fill = float("inf") if kind == "min" else float("-inf")
        return mx.full(shape, fill, x.dtype)
    fn = {"sum": mx.sum, "mean": mx.mean, "max": mx.max, "min": mx.min, "prod": mx.prod, "logsumexp": mx.logsumexp}
    return fn[kind](x, axis=ax, keepdims=keepdims)


@helper
def cumulative_dynamic(x, axis, kind, exclusive=False, reverse=False):
    """ONNX CumSum / CumProd with a run-time axis tensor."""
    ax = int(np.array(axis).reshape(-1)[0])
    fn = mx.cumsum if kind == "sum" else mx.cumprod
    return fn(x, axis=ax, reverse=reverse, inclusive=not exclusive)


@helper
def layer_norm_last(x, weight, bias, eps):
    """Layer normalization over the last axis with MLX's fused kernel."""
    return mx.fast.layer_norm(x, weight, bias, eps)


@helper
def rms_norm_last(x, weight, eps):
    """RMS normalization over the last axis with MLX's fused kernel."""
    return mx.fast.rms_norm(x, weight, eps)


@helper
def det(x):
    """Determinant of the last two axes (batched); computed in at least float32."""
    dtype = x.dtype
    if dtype in (mx.float16, mx.bfloat16):
        x = x.astype(mx.float32)
    return mx.linalg.det(x, stream=mx.cpu).astype(dtype)
