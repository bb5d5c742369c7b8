"""Sums and means over large extents: MLX's reduction, or the blocked one where float32 drifts.

MLX's CPU reductions accumulate float32 in one running sum per output, so
their relative error grows with the number of elements summed (measured: 1e-5
for the mean and 6e-5 for the variance over a 640x360 map, 4e-4 for the
variance over 1280x720). Deep InstanceNormalization chains compound that into
visible drift from onnxruntime, which sums pairwise. Where the reduced extent
is statically small the plain MLX call stays (same bits as ever); where it is
large or only known at run time, the blocked helpers (opset.helpers.reduce)
decide at run time and are accurate to float32 rounding.
"""

from __future__ import annotations

from opset.program import Ref

from .context import LowerCtx

# Extents up to this many elements keep MLX's own reduction (matches blocked_sum's own cut-off).
SMALL_EXTENT = 4096


def _small(dims) -> bool:
    n = 1
    for d in dims:
        if not isinstance(d, int):
            return False
        n *= d
    return n <= SMALL_EXTENT


def reduced_dims(ctx: LowerCtx, i: int, axes) -> list | None:
    """Input i's dims along `axes` (None entries where unknown), or None if its rank is unknown."""
    shape = ctx.shape(i)
    if shape is None:
        return None
    return [shape[a] for a in axes]


def mean(ctx: LowerCtx, x: Ref, axes, dims, keepdims: bool = True) -> Ref:
    """Mean of x over `axes`; `dims` are the reduced dims as far as known (None: unknown)."""
    axes = tuple(axes)
    if dims is not None and _small(dims):
        return ctx.call("mean", x, axis=axes, keepdims=keepdims)
    return ctx.call("blocked_mean", x, axes, keepdims)


def total(ctx: LowerCtx, x: Ref, axes, dims, keepdims: bool = True) -> Ref:
    """Sum of x over `axes` (see mean)."""
    axes = tuple(axes)
    if dims is not None and _small(dims):
        return ctx.call("sum", x, axis=axes, keepdims=keepdims)
    return ctx.call("blocked_sum", x, axes, keepdims)


def mean_and_var(ctx: LowerCtx, x: Ref, axes, dims) -> tuple[Ref, Ref, Ref | None]:
    """(mean, variance, x - mean or None) over `axes`, keepdims. Small extents keep mx.mean/mx.var;
    large ones take two blocked passes (the variance of the deviations: no cancellation)."""
    axes = tuple(axes)
    if dims is not None and _small(dims):
        return ctx.call("mean", x, axis=axes, keepdims=True), ctx.call("var", x, axis=axes, keepdims=True), None
    m = ctx.call("blocked_mean", x, axes, True)
    d = ctx.call("subtract", x, m)
    return m, ctx.call("blocked_mean", ctx.call("square", d), axes, True), d
