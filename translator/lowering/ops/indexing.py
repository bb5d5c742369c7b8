"""Indexing ops: gathers, scatters, selection and data-dependent ops.

Constant indices are normalized (negative -> positive) at translation time;
run-time indices rely on MLX's take/take_along_axis/put_along_axis, which wrap
negative indices like numpy. Data-dependent output shapes (NonZero, Unique,
Compress with a run-time condition) go through helpers that read on the host.
"""

from __future__ import annotations

from opset.program import Dim, DType, Ref, Slice

import numpy as np

from ..context import LowerCtx
from ..registry import lowering


def _axis(ctx: LowerCtx, axis: int, rank: int | None) -> int:
    """A normalized axis (left as given when the rank is only known at run time)."""
    if rank is None:
        return axis
    if not -rank <= axis < rank:
        ctx.fail(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def _rank(ctx: LowerCtx, i: int = 0) -> int | None:
    shape = ctx.shape(i)
    return None if shape is None else len(shape)


def _dim(ctx: LowerCtx, i: int, axis: int):
    """A dim of input i: int, run-time Dim, or None when the rank is unknown and axis < 0."""
    if ctx.shape(i) is None:
        return Dim(ctx.input(i).name, axis) if axis >= 0 else None
    return ctx.dim(i, axis)


def _index_const(ctx: LowerCtx, i: int, dim) -> np.ndarray | None:
    """Constant indices of input i with negatives resolved against `dim` (when it is known)."""
    c = ctx.const(i)
    if c is None:
        return None
    c = np.asarray(c).astype(np.int64)
    if isinstance(dim, int):
        if c.size and (c.min() < -dim or c.max() >= dim):
            ctx.fail(f"index out of range for a dim of {dim}")
        c = np.where(c < 0, c + dim, c)
    return c


# -- Gather family -------------------------------------------------------------
@lowering("Gather")
def gather(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    rank = _rank(ctx)
    axis = _axis(ctx, ctx.attr("axis", 0), rank)
    idx = _index_const(ctx, 1, _dim(ctx, 0, axis))
    if idx is not None and idx.ndim == 0 and idx >= 0 and axis >= 0:
        # a scalar index: plain indexing, e.g. shape[2] or x[:, 0]
        return ctx.call("getitem", x, int(idx) if axis == 0 else tuple([Slice()] * axis + [int(idx)]))
    ind = ctx.input(1) if idx is None else ctx.constant(idx, "indices")
    return ctx.call("take", x, ind, axis=axis)


@lowering("GatherElements", since=11)
def gather_elements(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    rank = _rank(ctx)
    axis = _axis(ctx, ctx.attr("axis", 0), rank)
    idx = _index_const(ctx, 1, _dim(ctx, 0, axis))
    ind = ctx.input(1) if idx is None else ctx.constant(idx, "indices")
    # ONNX lets indices be smaller than data off the axis; take_along_axis needs them to match
    xs, ids = ctx.shape(0), ctx.shape(1)
    if xs is not None and ids is not None:
        parts = []
        for d, (a, b) in enumerate(zip(xs, ids)):
            smaller = d != axis and isinstance(a, int) and isinstance(b, int) and b < a
            parts.append(Slice(None, b) if smaller else Slice())
        while parts and parts[-1] == Slice():
            parts.pop()
        if parts:
            x = ctx.call("getitem", x, tuple(parts))
    return ctx.call("take_along_axis", x, ind, axis=axis)


@lowering("GatherND", since=11)
def gather_nd(ctx: LowerCtx) -> Ref:
    return ctx.call("gather_nd", ctx.input(0), ctx.input(1), int(ctx.attr("batch_dims", 0)))


# -- Scatter family ------------------------------------------------------------
def _scatter_elements(ctx: LowerCtx, reduction: str) -> Ref:
    if reduction not in ("none", "add", "mul", "max", "min"):
        ctx.fail(f"reduction {reduction!r} is not supported")
    x, upd = ctx.input(0), ctx.input(2)
    rank = _rank(ctx)
    axis = _axis(ctx, ctx.attr("axis", 0), rank)
    xs, ids = ctx.shape(0), ctx.shape(1)
    same = (
        xs is not None
        and ids is not None
        and all(d == axis or (a == b and a is not None) for d, (a, b) in enumerate(zip(xs, ids)))
    )
    if reduction == "none" and same:
        idx = _index_const(ctx, 1, _dim(ctx, 0, axis))
        ind = ctx.input(1) if idx is None else ctx.constant(idx, "indices")
        return ctx.call("put_along_axis", x, ind, upd, axis=axis)
    return ctx.call("scatter_elements", x, ctx.input(1), upd, axis, reduction)


@lowering("Scatter", since=9)
def scatter(ctx: LowerCtx) -> Ref:
    return _scatter_elements(ctx, "none")


@lowering("ScatterElements", since=11)
def scatter_elements(ctx: LowerCtx) -> Ref:
    return _scatter_elements(ctx, ctx.attr("reduction", "none"))


@lowering("ScatterND", since=11)
def scatter_nd(ctx: LowerCtx) -> Ref:
    reduction = ctx.attr("reduction", "none")
    if reduction not in ("none", "add", "mul", "max", "min"):
        ctx.fail(f"reduction {reduction!r} is not supported")
    return ctx.call("scatter_nd", ctx.input(0), ctx.input(1), ctx.input(2), reduction)


@lowering("TensorScatter", since=24)
def tensor_scatter(ctx: LowerCtx) -> Ref:
    mode = ctx.attr("mode", "linear")
    if mode not in ("linear", "circular"):
        ctx.fail(f"mode {mode!r} is not supported")
    axis = int(ctx.attr("axis", -2))
    if axis == 0 or (_rank(ctx) is not None and axis % ctx.rank(0) == 0):
        ctx.fail("TensorScatter axis cannot be the batch axis")
    wi = ctx.input(2) if ctx.has_input(2) else None
    return ctx.call("tensor_scatter", ctx.input(0), ctx.input(1), wi, axis, mode == "circular")


# -- Selection -------------------------------------------------------------------
@lowering("Compress", since=9)
def compress(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    axis = ctx.attr("axis")
    cond = ctx.const(1)
    if axis is not None:
        axis = _axis(ctx, axis, _rank(ctx))
    if cond is None:
        return ctx.call("compress_rt", x, ctx.input(1), axis)
    if axis is None:
        x = ctx.call("reshape", x, [-1])
        axis = 0
        static = ctx.static_shape(0)
        dim = int(np.prod(static)) if static is not None else None
    else:
        dim = _dim(ctx, 0, axis)
    cond = np.asarray(cond).astype(bool).reshape(-1)
    if isinstance(dim, int):
        cond = cond[:dim]
    idx = np.nonzero(cond)[0].astype(np.int64)
    return ctx.call("take", x, ctx.constant(idx, "indices"), axis=axis)


@lowering("OneHot", since=9)
def one_hot(ctx: LowerCtx) -> Ref:
    rank = _rank(ctx)
    axis = ctx.attr("axis", -1)
    if rank is None:
        if axis != -1:
            ctx.fail("OneHot with an axis needs indices of known rank")
        rank = axis = 0  # the new axis is the last one
    elif not -rank - 1 <= axis <= rank:
        ctx.fail(f"axis {axis} is out of range for rank {rank}")
    else:
        axis = axis % (rank + 1)
    idx = ctx.input(0)
    if ctx.dtype(0) != np.int64:
        idx = ctx.cast(idx, np.int64)
    c = ctx.const(1)
    if c is not None:
        depth: int | Ref = int(np.asarray(c).reshape(-1)[0])
    else:
        depth = ctx.call("getitem", ctx.call("to_ints", ctx.input(1)), 0)
    idx = ctx.call("where", ctx.call("less", idx, 0), ctx.call("add", idx, depth), idx)
    hot = ctx.call("arange", depth, dtype=DType("int64"))
    if axis < rank:
        hot = ctx.call("reshape", hot, [-1] + [1] * (rank - axis))
    mask = ctx.call("equal", ctx.call("expand_dims", idx, axis if _rank(ctx) is not None else -1), hot)
    values = ctx.input(2)
    off = ctx.call("getitem", values, 0)
    on = ctx.call("getitem", values, 1)
    return ctx.call("where", mask, on, off)


# -- TopK ------------------------------------------------------------------------
def _topk(ctx: LowerCtx, k: int | None, largest: int) -> list[Ref]:
    x = ctx.input(0)
    rank = _rank(ctx)
    axis = _axis(ctx, ctx.attr("axis", -1), rank)
    if k is None or rank is None:
        kk = ctx.input(1) if k is None else [k]
        return ctx.call_n("topk_rt", 2, x, kk, axis, largest)
    if k < 0:
        ctx.fail(f"k = {k} is negative")
    n = ctx.dim(0, axis)
    lead = [Slice()] * axis
    if largest:
        # stable ascending sort of the flipped axis, read backwards: ties keep the lower index first
        order = ctx.call("argsort", ctx.call("flip", x, axis), axis=axis)
        order = ctx.call("getitem", order, tuple(lead + [Slice(None, -k - 1, -1)]))
        last = n - 1 if isinstance(n, int) else ctx.call("subtract", n, 1)
        idx = ctx.call("subtract", last, ctx.cast(order, np.int64))
    else:
        order = ctx.call("argsort", x, axis=axis)
        idx = ctx.cast(ctx.call("getitem", order, tuple(lead + [Slice(None, k)])), np.int64)
    return [ctx.call("take_along_axis", x, idx, axis=axis), idx]


@lowering("TopK")
def topk_v1(ctx: LowerCtx) -> list[Ref]:
    return _topk(ctx, int(ctx.attr("k")), 1)


@lowering("TopK", since=10)
def topk(ctx: LowerCtx) -> list[Ref]:
    c = ctx.const(1)
    k = None if c is None else int(np.asarray(c).reshape(-1)[0])
    return _topk(ctx, k, int(ctx.attr("largest", 1)))


# -- Data-dependent ops ----------------------------------------------------------
@lowering("NonZero", since=9)
def nonzero(ctx: LowerCtx) -> Ref:
    return ctx.call("nonzero_rt", ctx.input(0))


@lowering("Unique", since=11)
def unique(ctx: LowerCtx) -> list[Ref]:
    axis = ctx.attr("axis")
    if axis is not None:
        axis = _axis(ctx, axis, _rank(ctx))
    return ctx.call_n("unique_rt", 4, ctx.input(0), axis, int(ctx.attr("sorted", 1)))


@lowering("ReverseSequence", since=10)
def reverse_sequence(ctx: LowerCtx) -> Ref:
    batch_axis = int(ctx.attr("batch_axis", 1))
    time_axis = int(ctx.attr("time_axis", 0))
    if {batch_axis, time_axis} != {0, 1}:
        ctx.fail("batch_axis and time_axis must be 0 and 1")
    return ctx.call("reverse_sequence", ctx.input(0), ctx.input(1), batch_axis, time_axis)
