"""Reductions, arg-reductions, softmax family, cumulative ops, normalizations, losses, Det."""

from __future__ import annotations

import math

from opset.program import DType, Ref

import numpy as np

from .. import accurate
from ..context import LowerCtx, dtype_name
from ..registry import lowering

# ONNX TensorProto element types allowed as stash_type.
_STASH_TYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16"}


def _dtype_of(ctx: LowerCtx, i: int) -> str:
    dt = ctx.dtype(i)
    return "bool_" if dt.kind == "b" else dt.name


def _astype(ctx: LowerCtx, x: Ref, name: str) -> Ref:
    return ctx.call("astype", x, DType(name))


def _norm_axes(ctx: LowerCtx, axes: list[int], i: int = 0) -> list[int]:
    """Axes as sorted non-negative ints when the rank is known, else as given."""
    shape = ctx.shape(i)
    if shape is None:
        if any(a >= 0 for a in axes) and any(a < 0 for a in axes):
            ctx.fail("mixed-sign axes on an input of unknown rank")
        return sorted(set(axes))
    rank = len(shape)
    for a in axes:
        if not -rank <= a < max(rank, 1):
            ctx.fail(f"axis {a} is out of range for rank {rank}")
    return sorted({a % max(rank, 1) for a in axes})


def _trailing_axes(ctx: LowerCtx, axis: int) -> list[int]:
    """Axes [axis, rank): the normalized block of LayerNormalization and old Softmax."""
    shape = ctx.shape(0)
    if shape is None:
        if axis >= 0:
            ctx.fail("a non-negative axis needs an input of known rank")
        return list(range(axis, 0))
    rank = len(shape)
    if not -rank <= axis < max(rank, 1):
        ctx.fail(f"axis {axis} is out of range for rank {rank}")
    return list(range(axis % max(rank, 1), rank))


# ---------------------------------------------------------------------------
# Reduce*

# op -> (MLX reduction, elementwise op before it, elementwise op after it)
_REDUCE = {
    "ReduceSum": ("sum", None, None),
    "ReduceMean": ("mean", None, None),
    "ReduceMax": ("max", None, None),
    "ReduceMin": ("min", None, None),
    "ReduceProd": ("prod", None, None),
    "ReduceL1": ("sum", "abs", None),
    "ReduceL2": ("sum", "square", "sqrt"),
    "ReduceLogSum": ("sum", None, "log"),
    "ReduceLogSumExp": ("logsumexp", None, None),
    "ReduceSumSquare": ("sum", "square", None),
}
# Reductions and post-ops that may change an integer dtype in MLX (promotion to 32 bits or float).
_CHANGES_INT = {"sum", "mean", "prod", "logsumexp", "sqrt", "log"}


def _empty_fill(kind: str, dtype: np.dtype):
    if kind in ("sum", "prod", "mean"):
        return {"sum": 0, "prod": 1, "mean": math.nan}[kind]
    if dtype.kind == "b":
        return kind == "min"
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return int(info.max if kind == "min" else info.min)
    return math.inf if kind == "min" else -math.inf


def _reduce(ctx: LowerCtx, axes_from_input: bool) -> Ref:
    kind, pre, post = _REDUCE[ctx.node.op_type]
    keepdims = bool(ctx.attr("keepdims", 1))
    noop = bool(ctx.attr("noop_with_empty_axes", 0))
    dtype = ctx.dtype(0)
    x = ctx.input(0)

    axes: list[int] | None
    dynamic: Ref | None = None
    if axes_from_input:
        if not ctx.has_input(1):
            axes = []
        else:
            c = ctx.const(1)
            if c is None:
                dynamic = ctx.input(1)
                axes = None
            else:
                axes = [int(a) for a in np.asarray(c).reshape(-1)]
    else:
        axes = [int(a) for a in (ctx.attr("axes", None) or [])]

    if axes is not None and not axes and noop and axes_from_input:
        kind = None  # identity reduction; the pre/post ops still apply
    elif axes is not None:
        axes = _norm_axes(ctx, axes) if axes else None  # None: reduce everything

    # An empty input: the result is the reduction's identity (max/min/logsumexp would
    # raise in MLX, and reducing an empty array from numpy can hang it).
    static = ctx.static_shape(0)
    if kind is not None and dynamic is None and static is not None and 0 in static:
        red = list(range(len(static))) if axes is None else axes
        out_shape = tuple(1 if i in red else d for i, d in enumerate(static) if keepdims or i not in red)
        fill = _empty_fill(kind, dtype)
        y = ctx.call("full", out_shape, fill, DType(_dtype_of(ctx, 0)))
        if post is not None:
            y = ctx.call(post, y)
            if dtype.kind in "iub" and post in _CHANGES_INT:
                y = _astype(ctx, y, _dtype_of(ctx, 0))
        return y

    y = x
    int_input = dtype.kind in "iub"
    if kind == "logsumexp" and int_input:
        y = _astype(ctx, y, "float32")
    if pre is not None:
        y = ctx.call(pre, y)
    shape = ctx.shape(0)
    if kind in ("sum", "mean") and not int_input and dynamic is None and (axes is not None or shape is not None):
        every = list(range(len(shape))) if axes is None else axes  # float sums: accurate over large extents
        y = (accurate.total if kind == "sum" else accurate.mean)(
            ctx, y, every, accurate.reduced_dims(ctx, 0, every), keepdims
        )
    elif kind is not None:
        if dynamic is not None:
            y = ctx.call("reduce_dynamic", y, dynamic, kind, keepdims=keepdims, noop=noop)
        elif axes is None:
            y = ctx.call(kind, y, keepdims=keepdims)
        else:
            y = ctx.call(kind, y, axis=axes, keepdims=keepdims)
    if post is not None:
        y = ctx.call(post, y)
    if int_input and ({kind, post} & _CHANGES_INT):
        y = _astype(ctx, y, _dtype_of(ctx, 0))
    return y


_REDUCE_OPS = tuple(_REDUCE)


@lowering(_REDUCE_OPS)
def reduce_axes_attr(ctx: LowerCtx) -> Ref:
    return _reduce(ctx, False)


@lowering("ReduceSum", since=13)
def reduce_sum_13(ctx: LowerCtx) -> Ref:
    return _reduce(ctx, True)


@lowering(tuple(op for op in _REDUCE_OPS if op != "ReduceSum"), since=18)
def reduce_axes_input(ctx: LowerCtx) -> Ref:
    return _reduce(ctx, True)


# ---------------------------------------------------------------------------
# ArgMax / ArgMin


@lowering(("ArgMax", "ArgMin"))
def arg_reduce(ctx: LowerCtx) -> Ref:
    fn = "argmax" if ctx.node.op_type == "ArgMax" else "argmin"
    x = ctx.input(0)
    rank = ctx.rank(0)
    axis = int(ctx.attr("axis", 0))
    if not -rank <= axis < max(rank, 1):
        ctx.fail(f"axis {axis} is out of range for rank {rank}")
    axis %= max(rank, 1)
    keepdims = bool(ctx.attr("keepdims", 1))
    if ctx.attr("select_last_index", 0):
        # The first extreme of the reversed axis is the last one of the original.
        i = ctx.call(fn, ctx.call("flip", x, axis=axis), axis=axis, keepdims=keepdims)
        i = _astype(ctx, i, "int64")
        return ctx.call("subtract", ctx.dim(0, axis), ctx.call("add", i, 1))
    return _astype(ctx, ctx.call(fn, x, axis=axis, keepdims=keepdims), "int64")


# ---------------------------------------------------------------------------
# Softmax, LogSoftmax, Hardmax


def _softmax_axes(ctx: LowerCtx) -> list[int] | int:
    if ctx.opset >= 13:
        rank = ctx.rank(0)
        axis = int(ctx.attr("axis", -1))
        if not -rank <= axis < max(rank, 1):
            ctx.fail(f"axis {axis} is out of range for rank {rank}")
        return axis % max(rank, 1)
    # Before opset 13 the input is coerced to 2-D at `axis`: reduce over all trailing axes.
    return _trailing_axes(ctx, int(ctx.attr("axis", 1)))


@lowering("Softmax")
def softmax(ctx: LowerCtx) -> Ref:
    axes = _softmax_axes(ctx)
    if axes == []:
        return ctx.input(0)
    x = ctx.input(0)
    shape = ctx.shape(0)
    rank = None if shape is None else len(shape)
    last = rank is not None and axes in (rank - 1, [rank - 1])  # an int from opset 13 on, a list before
    if ctx.attr("native") and ctx.dtype(0).name == "float32" and last:
        return ctx.call("native_softmax", x)  # marked by the native pass: vectorized, unlike MLX's CPU softmax
    if ctx.dtype(0).name in ("float16", "bfloat16"):
        # Written out: mx.softmax's half-precision kernel is 1 ulp off onnxruntime/numpy.
        e = ctx.call("exp", ctx.call("subtract", x, ctx.call("max", x, axis=axes, keepdims=True)))
        return ctx.call("divide", e, ctx.call("sum", e, axis=axes, keepdims=True))
    return ctx.call("softmax", x, axis=axes)


@lowering("LogSoftmax")
def log_softmax(ctx: LowerCtx) -> Ref:
    axes = _softmax_axes(ctx)
    x = ctx.input(0)
    if axes == []:
        return x
    return ctx.call("subtract", x, ctx.call("logsumexp", x, axis=axes, keepdims=True))


def _one_hot_argmax(ctx: LowerCtx, x: Ref, axis: int, dtype: str) -> Ref:
    idx = ctx.call("argmax", x, axis=axis, keepdims=True)
    one = ctx.literal(1, np.float32 if dtype == "bfloat16" else dtype)
    if dtype == "bfloat16":
        one = _astype(ctx, one, dtype)
    return ctx.call("put_along_axis", ctx.call("zeros_like", x), idx, one, axis=axis)


@lowering("Hardmax")
def hardmax(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    dtype = _dtype_of(ctx, 0)
    static = ctx.static_shape(0)
    if static is not None and 0 in static:
        return x
    axes = _softmax_axes(ctx)
    if isinstance(axes, int):
        return _one_hot_argmax(ctx, x, axes, dtype)
    if not axes:
        return x
    rank = ctx.rank(0)
    if len(axes) == 1:
        return _one_hot_argmax(ctx, x, axes[0], dtype)
    # Old semantics: argmax over the flattened trailing block, then back to x's shape.
    flat = ctx.call("flatten", x, start_axis=axes[0])
    y = _one_hot_argmax(ctx, flat, -1, dtype)
    return ctx.call("reshape", y, tuple(ctx.dim(0, i) for i in range(rank)))


# ---------------------------------------------------------------------------
# CumSum, CumProd


@lowering(("CumSum", "CumProd"))
def cumulative(ctx: LowerCtx) -> Ref:
    kind = "sum" if ctx.node.op_type == "CumSum" else "prod"
    x = ctx.input(0)
    exclusive = bool(ctx.attr("exclusive", 0))
    reverse = bool(ctx.attr("reverse", 0))
    c = ctx.const(1)
    if c is None:
        return ctx.call("cumulative_dynamic", x, ctx.input(1), kind, exclusive=exclusive, reverse=reverse)
    axis = int(np.asarray(c).reshape(-1)[0])
    rank = ctx.shape(0)
    if rank is not None:
        rank = len(rank)
        if not -rank <= axis < max(rank, 1):
            ctx.fail(f"axis {axis} is out of range for rank {rank}")
    return ctx.call("cum" + kind, x, axis=axis, reverse=reverse, inclusive=not exclusive)


# ---------------------------------------------------------------------------
# Normalizations


def _stash(ctx: LowerCtx) -> str:
    st = int(ctx.attr("stash_type", 1))
    if st not in _STASH_TYPES:
        ctx.fail(f"stash_type {st} is not a floating-point type MLX supports")
    return _STASH_TYPES[st]


def _is_last_axis_vector(ctx: LowerCtx, i: int, axes: list[int]) -> bool:
    """Input i is a 1-D tensor matching the last dim of X, and axes is just the last axis."""
    if not ctx.has_input(i):
        return True
    rank = ctx.shape(0)
    if rank is None or len(axes) != 1 or axes[0] != len(rank) - 1:
        return False
    s = ctx.shape(i)
    if s is None or len(s) != 1 or not isinstance(s[0], int):
        return False
    last = rank[-1]
    return s[0] == last if isinstance(last, int) else s[0] > 1


def _wanted(ctx: LowerCtx, i: int) -> bool:
    return i < len(ctx.node.outputs) and bool(ctx.node.outputs[i])


@lowering("LayerNormalization", since=17)
def layer_normalization(ctx: LowerCtx):
    x = ctx.input(0)
    xdt = _dtype_of(ctx, 0)
    stash = _stash(ctx)
    eps = float(ctx.attr("epsilon", 1e-5))
    axes = _trailing_axes(ctx, int(ctx.attr("axis", -1)))
    n_out = len(ctx.node.outputs)
    extra = _wanted(ctx, 1) or _wanted(ctx, 2)
    if (
        not extra
        and xdt in ("float32", "float16", "bfloat16")
        and stash == "float32"
        and _is_last_axis_vector(ctx, 1, axes)
        and _is_last_axis_vector(ctx, 2, axes)
        and ctx.dtype(1).name == ctx.dtype(0).name
        and (not ctx.has_input(2) or ctx.dtype(2).name == ctx.dtype(0).name)
    ):
        b = ctx.input(2) if ctx.has_input(2) else None
        y = ctx.call("layer_norm_last", x, ctx.input(1), b, eps)
        return [y] + [None] * (n_out - 1)

    xs = x if xdt == stash else _astype(ctx, x, stash)
    dims = accurate.reduced_dims(ctx, 0, axes)
    mean = accurate.mean(ctx, xs, axes, dims)
    d = ctx.call("subtract", xs, mean)
    var = accurate.mean(ctx, ctx.call("square", d), axes, dims)
    inv = ctx.call("rsqrt", ctx.call("add", var, eps))
    y = ctx.call("multiply", d, inv)
    if xdt != stash:
        y = _astype(ctx, y, xdt)
    y = ctx.call("multiply", y, ctx.input(1))
    if ctx.has_input(2):
        y = ctx.call("add", y, ctx.input(2))
    outs = [y]
    for i, v in ((1, mean), (2, inv)):
        if i >= n_out:
            break
        if not _wanted(ctx, i):
            outs.append(None)
            continue
        want = ctx.out_dtype(i)
        name = stash if want is None else dtype_name(want)
        outs.append(v if name == stash else _astype(ctx, v, name))
    return outs


@lowering("RMSNormalization", since=23)
def rms_normalization(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    xdt = _dtype_of(ctx, 0)
    stash = _stash(ctx)
    eps = float(ctx.attr("epsilon", 1e-5))
    axes = _trailing_axes(ctx, int(ctx.attr("axis", -1)))
    if (
        xdt in ("float32", "float16", "bfloat16")
        and stash == "float32"
        and _is_last_axis_vector(ctx, 1, axes)
        and ctx.dtype(1).name == ctx.dtype(0).name
    ):
        return ctx.call("rms_norm_last", x, ctx.input(1), eps)
    xs = x if xdt == stash else _astype(ctx, x, stash)
    ms = ctx.call("mean", ctx.call("square", xs), axis=axes, keepdims=True)
    y = ctx.call("multiply", xs, ctx.call("rsqrt", ctx.call("add", ms, eps)))
    if xdt != stash:
        y = _astype(ctx, y, xdt)
    return ctx.call("multiply", y, ctx.input(1))


@lowering("LpNormalization")
def lp_normalization(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    axis = _norm_axes(ctx, [int(ctx.attr("axis", -1))])
    p = int(ctx.attr("p", 2))
    if p == 1:
        norm = ctx.call("sum", ctx.call("abs", x), axis=axis, keepdims=True)
    elif p == 2:
        norm = ctx.call("sqrt", ctx.call("sum", ctx.call("square", x), axis=axis, keepdims=True))
    else:
        ctx.fail(f"p={p} (ONNX allows only 1 or 2)")
    # A zero norm means an all-zero slice: divide by 1 so it stays 0 instead of NaN.
    safe = ctx.call("where", ctx.call("equal", norm, 0), ctx.scalar(1, ctx.dtype(0)), norm)
    return ctx.call("divide", x, safe)


@lowering("MeanVarianceNormalization")
def mean_variance_normalization(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    axes = _norm_axes(ctx, [int(a) for a in ctx.attr("axes", [0, 2, 3])])
    dims = accurate.reduced_dims(ctx, 0, axes)
    mean = accurate.mean(ctx, x, axes, dims)
    d = ctx.call("subtract", x, mean)
    std = ctx.call("sqrt", accurate.mean(ctx, ctx.call("square", d), axes, dims))
    return ctx.call("divide", d, ctx.call("add", std, ctx.scalar(1e-9, ctx.dtype(0))))


# ---------------------------------------------------------------------------
# Losses


def _nll(ctx: LowerCtx, logp: Ref, target: Ref, weight: Ref | None) -> Ref:
    """NegativeLogLikelihoodLoss of log-probabilities (N, C, d...) and targets (N, d...)."""
    reduction = ctx.attr("reduction", "mean")
    if isinstance(reduction, bytes):
        reduction = reduction.decode()
    if reduction not in ("none", "sum", "mean"):
        ctx.fail(f"unknown reduction {reduction!r}")
    ii = ctx.attr("ignore_index", None)
    mask = None
    if ii is not None:
        mask = ctx.call("not_equal", target, int(ii))
        # Ignored targets may be out of range: gather at class 0, then zero them.
        target = ctx.call("where", mask, target, 0)
    picked = ctx.call("take_along_axis", logp, ctx.call("expand_dims", target, 1), axis=1)
    loss = ctx.call("negative", ctx.call("squeeze", picked, 1))
    w = None
    if weight is not None:
        w = ctx.call("take", weight, target, axis=0)
        if mask is not None:
            w = ctx.call("where", mask, w, ctx.scalar(0, ctx.dtype(0)))
        loss = ctx.call("multiply", loss, w)
    elif mask is not None:
        w = _astype(ctx, mask, _dtype_of(ctx, 0))
        loss = ctx.call("where", mask, loss, ctx.scalar(0, ctx.dtype(0)))
    if reduction == "none":
        return loss
    total = ctx.call("sum", loss)
    if reduction == "sum":
        return total
    if w is None:
        return ctx.call("mean", loss)
    return ctx.call("divide", total, ctx.call("sum", w))


@lowering("NegativeLogLikelihoodLoss")
def nll_loss(ctx: LowerCtx) -> Ref:
    if ctx.rank(0) < 2:
        ctx.fail("input must have rank >= 2 (N, C, ...)")
    weight = ctx.input(2) if ctx.has_input(2) else None
    return _nll(ctx, ctx.input(0), ctx.input(1), weight)


@lowering("SoftmaxCrossEntropyLoss")
def softmax_cross_entropy_loss(ctx: LowerCtx):
    if ctx.rank(0) < 2:
        ctx.fail("scores must have rank >= 2 (N, C, ...)")
    x = ctx.input(0)
    logp = ctx.call("subtract", x, ctx.call("logsumexp", x, axis=1, keepdims=True))
    weight = ctx.input(2) if ctx.has_input(2) else None
    loss = _nll(ctx, logp, ctx.input(1), weight)
    if len(ctx.node.outputs) > 1:
        return [loss, logp if _wanted(ctx, 1) else None]
    return loss


# ---------------------------------------------------------------------------
# Det


@lowering("Det")
def det(ctx: LowerCtx) -> Ref:
    if ctx.rank(0) < 2:
        ctx.fail("input must have rank >= 2")
    return ctx.call("det", ctx.input(0))
