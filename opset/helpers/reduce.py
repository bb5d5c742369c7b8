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


@helper
def blocked_sum(x, axes, keepdims=False):
    """Sum over `axes`, accurate over large extents.

    MLX's CPU reductions keep one float32 running sum per output, so the
    relative error grows with the extent (6e-5 over a 640x360 map, 4e-4 over
    1280x720; numpy and onnxruntime sum pairwise). Summing blocks of 64, then
    the block sums, and so on, keeps it near float32 rounding, and is no slower.
    The reduced axes are made adjacent (a transpose only if they are not).
    """
    rank = x.ndim
    axes = sorted({int(a) % rank for a in axes})
    n = 1
    for a in axes:
        n *= x.shape[a]
    if n <= 4096 or not mx.issubdtype(x.dtype, mx.floating):
        return mx.sum(x, axis=axes, keepdims=keepdims)
    out_shape = [1 if a in axes else d for a, d in enumerate(x.shape)]
    if not keepdims:
        out_shape = [d for a, d in enumerate(x.shape) if a not in axes]
    if axes != list(range(axes[0], axes[0] + len(axes))):
        keep = [a for a in range(rank) if a not in axes]
        x = mx.transpose(x, keep + axes)
        axes = list(range(len(keep), rank))
    pre = 1
    for d in x.shape[: axes[0]]:
        pre *= d
    post = x.size // (pre * n) if x.size else 0
    y = x.reshape(pre, n, post)
    while y.shape[1] > 64:
        rest = y.shape[1] % 64
        if rest:
            y = mx.pad(y, [(0, 0), (0, 64 - rest), (0, 0)])
        y = y.reshape(pre, -1, 64, post).sum(axis=2)
    return y.sum(axis=1).reshape(out_shape)


@helper(uses=("blocked_sum",))
def blocked_mean(x, axes, keepdims=False):
    """Mean over `axes` with blocked_sum's accuracy."""
    n = 1
    for a in axes:
        n *= x.shape[int(a) % x.ndim]
    return blocked_sum(x, axes, keepdims) / n
