"""Quantization lowerings: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear."""

from __future__ import annotations

from opset.program import DType, Ref, Slice

import numpy as np

from ..context import LowerCtx
from ..registry import lowering

# Element types MLX can hold, the sub-byte integers (held in a byte) included; float8/float4/... are not.
MLX_DTYPES = frozenset(
    "bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 "
    "int4 uint4 int2 uint2".split()
)
_INT_RANGES = {
    "uint8": (0, 255),
    "int8": (-128, 127),
    "uint16": (0, 65535),
    "int16": (-32768, 32767),
    "uint4": (0, 15),
    "int4": (-8, 7),
    "uint2": (0, 3),
    "int2": (-2, 1),
}


def _check_dtype(ctx: LowerCtx, dtype: np.dtype, what: str) -> None:
    if np.dtype(dtype).name not in MLX_DTYPES:
        ctx.fail(f"{what} has type {np.dtype(dtype).name}, which MLX cannot represent")


def _onnx_dtype(code: int) -> np.dtype:
    from onnx import helper

    return np.dtype(helper.tensor_dtype_to_np_dtype(int(code)))


def _broadcastable(ctx: LowerCtx, i: int, axis: int, block: int) -> Ref | None:
    """Scale or zero point input `i`, shaped to broadcast against the data (input 0)."""
    if not ctx.has_input(i):
        return None
    shape = ctx.shape(i)
    if shape is None:
        ctx.fail(f"input #{i} has unknown rank")
    rank = ctx.rank(0)
    axis = axis % rank if rank else 0
    value = ctx.const(i)
    if len(shape) == 0:
        return ctx.input(i)
    size = int(np.prod(shape)) if all(isinstance(d, int) for d in shape) else None
    if size == 1:
        if value is not None:
            return ctx.constant(value.reshape(()), "qparam")
        return ctx.call("reshape", ctx.input(i), ())
    if not block:
        if len(shape) != 1:
            ctx.fail("per-axis scale/zero point must be 1-D (or give block_size)")
        dims = [1] * rank
        dims[axis] = -1
        if value is not None:
            return ctx.constant(value.reshape(dims), "qparam")
        return ctx.call("reshape", ctx.input(i), tuple(dims))
    if len(shape) != rank:
        ctx.fail("blocked scale/zero point must have the data's rank")
    n = ctx.dim(0, axis)
    if not isinstance(n, int):
        ctx.fail("the blocked axis must have a static length")
    if value is not None:
        rep = np.repeat(value, block, axis=axis)
        return ctx.constant(np.take(rep, np.arange(n), axis=axis), "qparam")
    rep = ctx.call("repeat", ctx.input(i), int(block), axis)
    if isinstance(shape[axis], int) and shape[axis] * block == n:
        return rep
    index = tuple(Slice(None, n) if d == axis else Slice() for d in range(rank))
    return ctx.call("getitem", rep, index)


@lowering("QuantizeLinear", since=10)
def quantize_linear(ctx: LowerCtx) -> Ref:
    out = ctx.out_dtype(0)
    if ctx.has_input(2):
        out = ctx.dtype(2)
    elif ctx.attr("output_dtype"):
        out = _onnx_dtype(ctx.attr("output_dtype"))
    elif out is None:
        out = np.dtype("uint8")
    if out.name not in _INT_RANGES:
        ctx.fail(f"quantizing to {out.name} is not supported (MLX has no such type)")
    _check_dtype(ctx, ctx.dtype(0), "x")
    _check_dtype(ctx, ctx.dtype(1), "y_scale")
    axis, block = int(ctx.attr("axis", 1)), int(ctx.attr("block_size", 0) or 0)
    x = ctx.input(0)
    scale = _broadcastable(ctx, 1, axis, block)
    prec = ctx.attr("precision")
    if prec:
        pdt = _onnx_dtype(prec)
        _check_dtype(ctx, pdt, "precision")
        if ctx.dtype(0) != pdt:
            x = ctx.cast(x, pdt)
        if ctx.dtype(1) != pdt:
            scale = ctx.cast(scale, pdt)
    lo, hi = _INT_RANGES[out.name]
    q = ctx.call("round", ctx.call("divide", x, scale))
    # Clip to a band just wider than any zero point can shift, so the int cast cannot overflow.
    q = ctx.call("clip", q, float(lo - 65536), float(hi + 65536))
    q = ctx.cast(q, "int32")
    zp = _broadcastable(ctx, 2, axis, block)
    if zp is not None:
        q = ctx.call("add", q, ctx.cast(zp, "int32"))
    return ctx.cast(ctx.call("clip", q, lo, hi), out)


@lowering("DequantizeLinear", since=10)
def dequantize_linear(ctx: LowerCtx) -> Ref:
    _check_dtype(ctx, ctx.dtype(0), "x")
    _check_dtype(ctx, ctx.dtype(1), "x_scale")
    out = _onnx_dtype(ctx.attr("output_dtype")) if ctx.attr("output_dtype") else ctx.dtype(1)
    _check_dtype(ctx, out, "the output")
    axis, block = int(ctx.attr("axis", 1)), int(ctx.attr("block_size", 0) or 0)
    x = ctx.input(0)
    if ctx.dtype(0).name != "float32":
        x = ctx.cast(x, "float32")
    zp = _broadcastable(ctx, 2, axis, block)
    if zp is not None:
        _check_dtype(ctx, ctx.dtype(2), "x_zero_point")
        x = ctx.call("subtract", x, ctx.cast(zp, "float32"))
    y = ctx.call("multiply", x, _broadcastable(ctx, 1, axis, block))
    if np.result_type(np.float32, ctx.dtype(1)) != out:
        y = ctx.cast(y, out)
    return y


@lowering("DynamicQuantizeLinear", since=11)
def dynamic_quantize_linear(ctx: LowerCtx):
    x = ctx.input(0)
    if ctx.dtype(0).name != "float32":
        x = ctx.cast(x, "float32")
    hi = ctx.call("maximum", ctx.call("max", x), 0.0)
    lo = ctx.call("minimum", ctx.call("min", x), 0.0)
    span = ctx.call("subtract", hi, lo)
    span = ctx.call("where", ctx.call("equal", hi, lo), 1.0, span)
    scale = ctx.call("divide", span, 255.0)
    zp = ctx.call("round", ctx.call("clip", ctx.call("negative", ctx.call("divide", lo, scale)), 0.0, 255.0))
    y = ctx.call("clip", ctx.call("add", ctx.call("round", ctx.call("divide", x, scale)), zp), 0.0, 255.0)
    u8 = DType("uint8")
    if ctx.dtype(0).name != "float32":
        scale = ctx.cast(scale, ctx.dtype(0))
    return [ctx.call("astype", y, u8), scale, ctx.call("astype", zp, u8)]
