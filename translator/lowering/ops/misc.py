"""Constants, shape queries and no-op ops."""

from __future__ import annotations

from opset.program import Ref

import numpy as np

from ..context import LowerCtx
from ..registry import lowering


@lowering(("Identity", "Dropout"))
def identity(ctx: LowerCtx):
    """Identity, and Dropout at inference (its optional mask output is all True)."""
    x = ctx.input(0)
    if ctx.node.op_type == "Dropout" and _dropout_training(ctx):
        ctx.fail("Dropout in training mode draws random masks; only inference is supported")
    if len(ctx.node.outputs) > 1 and ctx.node.outputs[1]:
        shape = [ctx.dim(0, i) for i in range(ctx.rank(0))]
        return [x, ctx.call("full", shape, True)]
    return x


def _dropout_training(ctx: LowerCtx) -> bool:
    if ctx.opset < 7:
        return not ctx.attr("is_test", 0)
    if not ctx.has_input(2):
        return False
    ratio = ctx.const(1) if ctx.has_input(1) else np.array(0.5)
    if ratio is not None and float(ratio) == 0.0:
        return False  # nothing is dropped, whatever the mode
    mode = ctx.const(2)
    if mode is None:
        ctx.fail("Dropout with a run-time training_mode input")
    return bool(mode)


@lowering("Constant")
def constant(ctx: LowerCtx):
    attrs = ctx.node.attrs
    if "value" in attrs:
        arr = np.asarray(attrs["value"])
    elif "value_float" in attrs:
        arr = np.array(attrs["value_float"], np.float32)
    elif "value_floats" in attrs:
        arr = np.array(attrs["value_floats"], np.float32)
    elif "value_int" in attrs:
        arr = np.array(attrs["value_int"], np.int64)
    elif "value_ints" in attrs:
        arr = np.array(attrs["value_ints"], np.int64)
    else:
        ctx.fail("Constant with a sparse or string value is not supported")
    return ctx.constant(arr, "value")


@lowering("Shape")
def shape(ctx: LowerCtx) -> Ref:
    start = ctx.attr("start", 0)
    end = ctx.attr("end", None)
    static = ctx.static_shape(0)
    if static is not None:
        return ctx.literal(np.array(static[slice(start, end)], np.int64), np.int64)
    s = ctx.call("shape_of", ctx.input(0))
    if start != 0 or end is not None:
        from opset.program import Slice

        s = ctx.call("getitem", s, Slice(start, end))
    return s


@lowering("Size")
def size(ctx: LowerCtx) -> Ref:
    static = ctx.static_shape(0)
    if static is not None:
        return ctx.literal(np.array(int(np.prod(static)), np.int64), np.int64)
    return ctx.call("prod", ctx.call("shape_of", ctx.input(0)))
