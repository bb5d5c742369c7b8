"""Shape ops: reshaping, slicing, padding, tiling and shape-generating ops.

Shape-like inputs (Reshape's shape, Slice's starts, Pad's pads, ...) are read
with `ctx.const` and lowered to plain MLX calls or indexing; when they are only
known at run time the lowering calls a helper from helpers/shape.py instead.
"""

from __future__ import annotations

from opset.helpers.shape import pad_index, slice_bounds
from opset.program import Dim, DType, Ref, Slice

import numpy as np
from onnx import helper as onnx_helper

from ..context import MAX_TABLE_ELEMENTS, LowerCtx, dtype_name
from ..registry import lowering

INT32_MAX = 2**31 - 1


# -- translation-time utilities ----------------------------------------------
def _const_ints(ctx: LowerCtx, i: int) -> list[int] | None:
    """Input i as a list of Python ints if it is constant, else None."""
    c = ctx.const(i)
    return None if c is None else [int(v) for v in np.asarray(c).reshape(-1)]


def _axis(ctx: LowerCtx, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        ctx.fail(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def _rank(ctx: LowerCtx, i: int = 0) -> int | None:
    """The rank of input i, or None when it is only known at run time."""
    shape = ctx.shape(i)
    return None if shape is None else len(shape)


def _dim(ctx: LowerCtx, i: int, axis: int) -> int | Dim:
    """ctx.dim, also for inputs of unknown rank (then axis must be >= 0)."""
    if ctx.shape(i) is None:
        return Dim(ctx.input(i).name, axis)
    return ctx.dim(i, axis)


def _index(parts: list) -> tuple:
    """An index tuple without trailing full slices (x[:, 1:3] rather than x[:, 1:3, :])."""
    parts = list(parts)
    while parts and parts[-1] == Slice():
        parts.pop()
    return tuple(parts)


def _getitem(ctx: LowerCtx, x: Ref, parts: list) -> Ref:
    index = _index(parts)
    return x if not index else ctx.call("getitem", x, index)


def _all_int(dims) -> bool:
    return all(isinstance(d, int) for d in dims)


def _np_dtype(ctx: LowerCtx, onnx_type: int) -> np.dtype:
    try:
        return np.dtype(onnx_helper.tensor_dtype_to_np_dtype(int(onnx_type)))
    except (KeyError, TypeError, ValueError):
        ctx.fail(f"data type {onnx_type} is not supported")


# -- Reshape / Flatten / Transpose -----------------------------------------
def _reshape_const(ctx: LowerCtx, shape: list[int], allowzero: int) -> Ref:
    x = ctx.input(0)
    rank = _rank(ctx)
    dims: list = []
    for i, d in enumerate(shape):
        if d == 0 and not allowzero:
            if rank is not None and i >= rank:
                ctx.fail("Reshape copies a dim (0) beyond the input rank")
            dims.append(_dim(ctx, 0, i))
        else:
            dims.append(int(d))
    static = ctx.static_shape(0)
    if static is not None and list(static) == dims:
        return x
    if static is not None and 0 in static and -1 in dims and _all_int(dims):
        # MLX cannot infer -1 for an empty array: resolve it from the other dims
        known = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
        if known == 0:
            ctx.fail("Reshape of an empty tensor with -1 and a 0 dim is ambiguous")
        dims = [0 if d == -1 else d for d in dims]
    return ctx.call("reshape", x, dims)


@lowering("Reshape")
def reshape_v1(ctx: LowerCtx) -> Ref:
    return _reshape_const(ctx, [int(d) for d in ctx.attr("shape", [])], 0)


@lowering("Reshape", since=5)
def reshape(ctx: LowerCtx) -> Ref:
    allowzero = int(ctx.attr("allowzero", 0))
    shape = _const_ints(ctx, 1)
    if shape is None:
        return ctx.call("reshape_to", ctx.input(0), ctx.input(1), allowzero)
    return _reshape_const(ctx, shape, allowzero)


@lowering("Flatten")
def flatten(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    rank = _rank(ctx)
    axis = ctx.attr("axis", 1)
    if rank is None:
        if axis == 0:
            return ctx.call("reshape", x, [1, -1])
        if axis == 1:
            return ctx.call("reshape", x, [Dim(x.name, 0), -1])
        return ctx.call("flatten_rt", x, axis)
    if not -rank <= axis <= rank:
        ctx.fail(f"axis {axis} is out of range for rank {rank}")
    axis = axis + rank if axis < 0 else axis
    shape = ctx.shape(0)
    head, tail = shape[:axis], shape[axis:]
    if _all_int(shape):
        return ctx.call("reshape", x, [int(np.prod(head, dtype=np.int64)), int(np.prod(tail, dtype=np.int64))])
    if _all_int(head):
        return ctx.call("reshape", x, [int(np.prod(head, dtype=np.int64)), -1])
    if _all_int(tail):
        return ctx.call("reshape", x, [-1, int(np.prod(tail, dtype=np.int64))])
    # 0 < axis < rank here (both parts have a run-time dim)
    y = ctx.call("flatten", x, axis, rank - 1)
    return ctx.call("flatten", y, 0, axis - 1)


@lowering("Transpose")
def transpose(ctx: LowerCtx) -> Ref:
    rank = _rank(ctx)
    perm = ctx.attr("perm")
    if rank is None:
        return ctx.call("transpose", ctx.input(0), *([] if perm is None else [list(perm)]))
    perm = list(range(rank))[::-1] if perm is None else [int(p) % rank for p in perm]
    if perm == list(range(rank)):
        return ctx.input(0)
    return ctx.call("transpose", ctx.input(0), perm)


# -- Squeeze / Unsqueeze -------------------------------------------------------
def _squeeze(ctx: LowerCtx, axes: list[int] | None) -> Ref:
    x = ctx.input(0)
    if axes is None:
        shape = ctx.shape(0)
        if shape is not None and _all_int(shape):
            axes = [i for i, d in enumerate(shape) if d == 1]
        else:
            return ctx.call("squeeze", x)
    rank = _rank(ctx)
    if rank is None:
        return ctx.call("squeeze_rt", x, axes)
    axes = sorted({_axis(ctx, a, rank) for a in axes})
    if not axes:
        return x
    return ctx.call("squeeze", x, axes[0] if len(axes) == 1 else axes)


@lowering("Squeeze")
def squeeze_v1(ctx: LowerCtx) -> Ref:
    axes = ctx.attr("axes")
    return _squeeze(ctx, None if axes is None else list(axes))


@lowering("Squeeze", since=13)
def squeeze(ctx: LowerCtx) -> Ref:
    if not ctx.has_input(1):
        return _squeeze(ctx, None)
    axes = _const_ints(ctx, 1)
    if axes is None:
        return ctx.call("squeeze_rt", ctx.input(0), ctx.input(1))
    return _squeeze(ctx, axes)


def _unsqueeze(ctx: LowerCtx, axes: list[int]) -> Ref:
    if _rank(ctx) is None:
        if any(a < 0 for a in axes):
            return ctx.call("unsqueeze_rt", ctx.input(0), axes)
        return ctx.call("expand_dims", ctx.input(0), sorted(axes))
    out_rank = ctx.rank(0) + len(axes)
    axes = sorted(_axis(ctx, a, out_rank) for a in axes)
    if len(set(axes)) != len(axes):
        ctx.fail(f"repeated axes {axes}")
    if not axes:
        return ctx.input(0)
    return ctx.call("expand_dims", ctx.input(0), axes[0] if len(axes) == 1 else axes)


@lowering("Unsqueeze")
def unsqueeze_v1(ctx: LowerCtx) -> Ref:
    return _unsqueeze(ctx, list(ctx.attr("axes", [])))


@lowering("Unsqueeze", since=13)
def unsqueeze(ctx: LowerCtx) -> Ref:
    axes = _const_ints(ctx, 1)
    if axes is None:
        return ctx.call("unsqueeze_rt", ctx.input(0), ctx.input(1))
    return _unsqueeze(ctx, axes)


# -- Concat / Split ----------------------------------------------------------
@lowering("Concat")
def concat(ctx: LowerCtx) -> Ref:
    inputs = [i for i in range(len(ctx.node.inputs)) if ctx.has_input(i)]
    if not inputs:
        ctx.fail("Concat without inputs")
    rank = next((r for r in (_rank(ctx, i) for i in inputs) if r is not None), None)
    default = 1 if ctx.opset < 4 else None
    axis = ctx.attr("axis", default)
    if axis is None:
        ctx.fail("Concat needs an axis")
    if rank is not None:
        axis = _axis(ctx, axis, rank)
    if len(inputs) == 1:
        return ctx.input(inputs[0])
    return ctx.call("concatenate", [ctx.input(i) for i in inputs], axis=axis)


@lowering("Split")
def split(ctx: LowerCtx):
    x = ctx.input(0)
    rank = _rank(ctx)
    num = len(ctx.node.outputs)
    if rank is None:
        split = ctx.attr("split")
        if split is None and ctx.has_input(1):
            split = ctx.input(1)
        elif split is None and ctx.opset < 18:
            return ctx.call_n("split", num, x, num, axis=ctx.attr("axis", 0))
        return ctx.call_n("split_rt", num, x, ctx.attr("axis", 0), num, split)
    axis = _axis(ctx, ctx.attr("axis", 0), rank)
    sizes = ctx.attr("split")
    sizes = None if sizes is None else [int(s) for s in sizes]
    if sizes is None and ctx.has_input(1):
        sizes = _const_ints(ctx, 1)
        if sizes is None:
            return ctx.call_n("split_rt", num, x, axis, num, ctx.input(1))
    if sizes is not None and len(sizes) != num:
        ctx.fail(f"split has {len(sizes)} parts for {num} outputs")
    dim = ctx.dim(0, axis)
    if sizes is None:
        if not isinstance(dim, int):
            if ctx.opset >= 18:
                return ctx.call_n("split_rt", num, x, axis, num)
            return ctx.call_n("split", num, x, num, axis=axis)
        chunk = -(-dim // num) if ctx.opset >= 18 else dim // num
        sizes = [min(chunk, max(dim - i * chunk, 0)) for i in range(num)]
    if isinstance(dim, int) and sum(sizes) != dim:
        ctx.fail(f"split sizes {sizes} do not add up to dim {dim}")
    outs: list = []
    begin = 0
    for size in sizes:
        parts = [Slice()] * rank
        end = begin + size
        if size == 0:
            parts[axis] = Slice(begin, end)
        else:
            parts[axis] = Slice(begin or None, None if isinstance(dim, int) and end == dim else end)
        outs.append(_getitem(ctx, x, parts) if num > 1 else x)
        begin = end
    return outs


# -- Slice -------------------------------------------------------------------
def _slice_const(ctx: LowerCtx, starts, ends, axes, steps) -> Ref | None:
    """Plain indexing for constant slice parameters; None when a run-time helper is needed."""
    x = ctx.input(0)
    rank = _rank(ctx)
    if rank is None:
        return None
    if axes is None:
        axes = list(range(len(starts)))
    if steps is None:
        steps = [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        ctx.fail("starts, ends, axes and steps differ in length")
    parts = [Slice()] * rank
    seen = set()
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = _axis(ctx, a, rank)
        if a in seen:
            ctx.fail(f"axis {a} is sliced twice")
        seen.add(a)
        if st == 0:
            ctx.fail("slice step 0")
        dim = ctx.dim(0, a)
        if isinstance(dim, int):
            lo, hi = slice_bounds(dim, s, e, st)
            if st > 0:
                parts[a] = Slice(lo or None, None if hi == dim else hi, None if st == 1 else st)
            else:
                parts[a] = Slice(None if lo == dim - 1 else lo, hi, st)
            if st > 0 and lo == 0 and hi == dim and st == 1:
                parts[a] = Slice()
        else:
            if st < 0 and s < -1:
                return None  # Python and ONNX clamp a start before the beginning differently
            s = max(min(s, INT32_MAX), -INT32_MAX)
            e = max(min(e, INT32_MAX), -INT32_MAX)
            full_s = (st > 0 and s <= -INT32_MAX) or (st < 0 and s >= INT32_MAX)
            full_e = (st > 0 and e >= INT32_MAX) or (st < 0 and e <= -INT32_MAX)
            parts[a] = Slice(
                None if full_s or (st > 0 and s == 0) else s,
                None if full_e else e,
                None if st == 1 else st,
            )
    return _getitem(ctx, x, parts)


@lowering("Slice")
def slice_v1(ctx: LowerCtx) -> Ref:
    starts = [int(v) for v in ctx.attr("starts", [])]
    ends = [int(v) for v in ctx.attr("ends", [])]
    axes = ctx.attr("axes")
    axes = None if axes is None else [int(a) for a in axes]
    out = _slice_const(ctx, starts, ends, axes, None)
    if out is None:
        return ctx.call("slice_rt", ctx.input(0), starts, ends, axes)
    return out


@lowering("Slice", since=10)
def slice_(ctx: LowerCtx) -> Ref:
    vals = [_const_ints(ctx, i) for i in range(1, 5)]
    known = all(v is not None or not ctx.has_input(i + 1) for i, v in enumerate(vals))
    if known:
        out = _slice_const(ctx, *vals)
        if out is not None:
            return out
    args = [(ctx.input(i) if v is None else v) if ctx.has_input(i) else None for i, v in enumerate(vals, 1)]
    while args and args[-1] is None:
        args.pop()
    return ctx.call("slice_rt", ctx.input(0), *args)


# -- Expand / Tile -----------------------------------------------------------
@lowering("Expand", since=8)
def expand(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    target = _const_ints(ctx, 1)
    shape = ctx.shape(0)
    if target is None or shape is None:
        return ctx.call("expand_rt", x, ctx.input(1))
    rank = max(len(shape), len(target))
    src = [1] * (rank - len(shape)) + [ctx.dim(0, i) for i in range(len(shape))]
    tgt = [1] * (rank - len(target)) + target
    out: list = []
    for s, t in zip(src, tgt):
        if t == 1:
            out.append(s)
        elif s == 1 or s == t or not isinstance(s, int):
            out.append(t)
        else:
            ctx.fail(f"cannot expand shape {tuple(shape)} to {tuple(target)}")
    if list(shape) == out:
        return x
    return ctx.call("broadcast_to", x, out)


@lowering("Tile")
def tile_v1(ctx: LowerCtx) -> Ref:
    tiles, axis = _const_ints(ctx, 1), _const_ints(ctx, 2)
    if tiles is None or axis is None:
        ctx.fail("Tile-1 needs constant tiles and axis")
    reps = [1] * ctx.rank(0)
    reps[_axis(ctx, axis[0], len(reps))] = tiles[0]
    return ctx.call("tile", ctx.input(0), reps)


@lowering("Tile", since=6)
def tile(ctx: LowerCtx) -> Ref:
    reps = _const_ints(ctx, 1)
    if reps is None:
        return ctx.call("tile_rt", ctx.input(0), ctx.input(1))
    if _rank(ctx) not in (None, len(reps)):
        ctx.fail(f"{len(reps)} repeats for rank {ctx.rank(0)}")
    if all(r == 1 for r in reps):
        return ctx.input(0)
    return ctx.call("tile", ctx.input(0), reps)


# -- Pad ---------------------------------------------------------------------
def _pad(ctx: LowerCtx, pads: list[int] | None, mode: str, value, axes: list[int] | None) -> Ref:
    """value: a Python scalar, a Ref (run-time scalar) or None (zero)."""
    x = ctx.input(0)
    if mode not in ("constant", "reflect", "edge", "wrap"):
        ctx.fail(f"pad mode {mode!r} is not supported")
    shape = ctx.shape(0)
    static = shape is not None and _all_int(shape)
    if static and pads is not None and axes is not False and mode in ("reflect", "wrap"):
        # The index maps of a large pad are built at run time (pad_rt), not as translation-time tables.
        static = sum(shape) + sum(abs(p) for p in pads) <= MAX_TABLE_ELEMENTS
    if pads is None or axes is False or not static:
        args = [x, ctx.input(1) if pads is None else pads, mode, value]
        if axes is False:
            args.append(ctx.input(3))
        elif axes is not None:
            args.append(axes)
        return ctx.call("pad_rt", *args)
    rank = len(shape)
    ax = list(range(rank)) if axes is None else [_axis(ctx, a, rank) for a in axes]
    if len(pads) != 2 * len(ax):
        ctx.fail(f"{len(pads)} pads for {len(ax)} axes")
    width = [[0, 0] for _ in range(rank)]
    for i, a in enumerate(ax):
        width[a] = [pads[i], pads[i + len(ax)]]
    # negative pads crop
    crop = []
    for a, (b, e) in enumerate(width):
        lo, hi = max(-b, 0), shape[a] + min(e, 0)
        crop.append(Slice(lo or None, None if hi == shape[a] else hi))
    x = _getitem(ctx, x, crop)
    dims = [max(shape[a] + min(b, 0) + min(e, 0), 0) for a, (b, e) in enumerate(width)]
    width = [(max(b, 0), max(e, 0)) for b, e in width]
    if not any(b or e for b, e in width):
        return x
    if mode == "constant":
        if value is None or (not isinstance(value, Ref) and value == 0):
            return ctx.call("pad", x, width)
        return ctx.call("pad", x, width, constant_values=value)
    if mode == "edge" and all(d > 0 for d, (b, e) in zip(dims, width) if b or e):
        return ctx.call("pad", x, width, mode="edge")
    for a, (b, e) in enumerate(width):
        if b or e:
            if dims[a] == 0:
                ctx.fail(f"cannot {mode}-pad an empty axis")
            idx = pad_index(dims[a], b, e, mode).astype(np.int32)
            x = ctx.call("take", x, ctx.constant(idx, "pad_index"), axis=a)
    return x


def _pad_value(ctx: LowerCtx, i: int):
    if not ctx.has_input(i):
        return None
    c = ctx.const(i)
    if c is None:
        return ctx.input(i)
    c = np.asarray(c).reshape(-1)
    return ctx.scalar(c[0], ctx.dtype(0)) if c.size else None


@lowering("Pad")
def pad_v1(ctx: LowerCtx) -> Ref:
    pads = [int(p) for p in ctx.attr("paddings", [])]
    value = ctx.scalar(ctx.attr("value", 0.0), ctx.dtype(0))
    return _pad(ctx, pads, ctx.attr("mode", "constant"), value, None)


@lowering("Pad", since=2)
def pad_v2(ctx: LowerCtx) -> Ref:
    pads = [int(p) for p in ctx.attr("pads", [])]
    value = ctx.scalar(ctx.attr("value", 0.0), ctx.dtype(0))
    return _pad(ctx, pads, ctx.attr("mode", "constant"), value, None)


@lowering("Pad", since=11)
def pad(ctx: LowerCtx) -> Ref:
    pads = _const_ints(ctx, 1)
    axes = None
    if ctx.has_input(3):
        axes = _const_ints(ctx, 3)
        if axes is None:
            axes = False  # run-time axes
    return _pad(ctx, pads, ctx.attr("mode", "constant"), _pad_value(ctx, 2), axes)


@lowering("CenterCropPad", since=18)
def center_crop_pad(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    shape = ctx.shape(0)
    axes = ctx.attr("axes")
    if shape is None:
        return ctx.call("center_crop_pad_rt", x, ctx.input(1), None if axes is None else list(axes))
    rank = len(shape)
    axes = list(range(rank)) if axes is None else [_axis(ctx, a, rank) for a in axes]
    target = _const_ints(ctx, 1)
    if target is None or not all(isinstance(shape[a], int) for a in axes):
        return ctx.call("center_crop_pad_rt", x, ctx.input(1), axes)
    if len(target) != len(axes):
        ctx.fail(f"{len(target)} target dims for {len(axes)} axes")
    crop = [Slice()] * rank
    width = [(0, 0)] * rank
    for a, t in zip(axes, target):
        n = shape[a]
        if t < n:
            b = (n - t) // 2
            crop[a] = Slice(b or None, b + t)
        elif t > n:
            b = (t - n) // 2
            width[a] = (b, t - n - b)
    x = _getitem(ctx, x, crop)
    if any(b or e for b, e in width):
        x = ctx.call("pad", x, width)
    return x


# -- Generators --------------------------------------------------------------
@lowering("ConstantOfShape", since=9)
def constant_of_shape(ctx: LowerCtx) -> Ref:
    value = ctx.attr("value")
    arr = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    if arr.dtype.kind not in "biuf":
        ctx.fail(f"value of dtype {arr.dtype} is not supported")
    dtype = DType(dtype_name(arr.dtype))
    fill = ctx.scalar(arr[0], arr.dtype)
    shape = _const_ints(ctx, 0)
    if shape is None:
        shape = ctx.call("to_ints", ctx.input(0))
    return ctx.call("full", shape, fill, dtype=dtype)


@lowering("EyeLike", since=9)
def eye_like(ctx: LowerCtx) -> Ref:
    if _rank(ctx) not in (None, 2):
        ctx.fail("EyeLike needs a 2-D input")
    dtype = ctx.attr("dtype")
    dtype = ctx.dtype(0) if dtype is None else _np_dtype(ctx, dtype)
    n, m = _dim(ctx, 0, 0), _dim(ctx, 0, 1)
    return ctx.call("eye", n, m, k=int(ctx.attr("k", 0)), dtype=DType(dtype_name(dtype)))


@lowering("Range", since=11)
def range_(ctx: LowerCtx) -> Ref:
    vals = [ctx.const(i) for i in range(3)]
    dtype = ctx.dtype(0)
    if any(v is None for v in vals) or dtype.kind not in "iuf" or dtype.itemsize < 4:
        return ctx.call("range_rt", ctx.input(0), ctx.input(1), ctx.input(2))
    start, limit, delta = (np.asarray(v).reshape(-1)[0].item() for v in vals)
    if delta == 0:
        ctx.fail("Range with delta 0")
    if dtype.kind == "f":
        return ctx.call("arange", float(start), float(limit), float(delta), dtype=DType(dtype_name(dtype)))
    n = max(-(-(int(limit) - int(start)) // int(delta)), 0)
    stop = int(start) + n * int(delta)
    return ctx.call("arange", int(start), stop, int(delta), dtype=DType(dtype_name(dtype)))


@lowering("Trilu", since=14)
def trilu(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    if _rank(ctx) is not None and ctx.rank(0) < 2:
        ctx.fail("Trilu needs rank >= 2")
    upper = int(ctx.attr("upper", 1))
    k: int | Ref = 0
    if ctx.has_input(1):
        c = _const_ints(ctx, 1)
        k = c[0] if c is not None else ctx.call("getitem", ctx.call("to_ints", ctx.input(1)), 0)
    return ctx.call("triu" if upper else "tril", x, k)


# -- DepthToSpace / SpaceToDepth ---------------------------------------------
@lowering("DepthToSpace")
def depth_to_space(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    if _rank(ctx) not in (None, 4):
        ctx.fail("DepthToSpace needs a 4-D input")
    bs = int(ctx.attr("blocksize"))
    mode = ctx.attr("mode", "DCR") if ctx.opset >= 11 else "DCR"
    if mode == "DCR":
        t = ctx.call("unflatten", x, 1, [bs, bs, -1])  # b, bs, bs, c', h, w
        t = ctx.call("transpose", t, [0, 3, 4, 1, 5, 2])
    elif mode == "CRD":
        t = ctx.call("unflatten", x, 1, [-1, bs, bs])  # b, c', bs, bs, h, w
        t = ctx.call("transpose", t, [0, 1, 4, 2, 5, 3])
    else:
        ctx.fail(f"mode {mode!r} is not supported")
    t = ctx.call("flatten", t, 4, 5)
    return ctx.call("flatten", t, 2, 3)


@lowering("SpaceToDepth")
def space_to_depth(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    if _rank(ctx) not in (None, 4):
        ctx.fail("SpaceToDepth needs a 4-D input")
    bs = int(ctx.attr("blocksize"))
    mode = ctx.attr("mode", "DCR")
    perm = {"DCR": [0, 3, 5, 1, 2, 4], "CRD": [0, 1, 3, 5, 2, 4]}.get(mode)
    if perm is None:
        ctx.fail(f"mode {mode!r} is not supported")
    t = ctx.call("unflatten", x, 3, [-1, bs])  # b, c, h, w', bs
    t = ctx.call("unflatten", t, 2, [-1, bs])  # b, c, h', bs, w', bs
    t = ctx.call("transpose", t, perm)
    return ctx.call("flatten", t, 1, 3)


# -- Col2Im ------------------------------------------------------------------
@lowering("Col2Im", since=18)
def col2im(ctx: LowerCtx) -> Ref:
    # image_shape and block_shape are usually run-time inputs: the helper reads them on the host
    image = _const_ints(ctx, 1)
    block = _const_ints(ctx, 2)
    attrs = [ctx.attr(name) for name in ("dilations", "pads", "strides")]
    attrs = [None if a is None else [int(v) for v in a] for a in attrs]
    img = image if image is not None else ctx.input(1)
    blk = block if block is not None else ctx.input(2)
    return ctx.call("col2im_rt", ctx.input(0), img, blk, *attrs)


@lowering("ChannelShuffle", domain="mlx.internal")
def channel_shuffle(ctx: LowerCtx):
    """passes/shuffle.py's node: the axis seen as (groups, C / groups), those two swapped, merged back."""
    x = ctx.input(0)
    shape = ctx.static_shape(0)
    if shape is None:
        ctx.fail("ChannelShuffle needs a static shape")
    axis, groups = int(ctx.attr("axis")), int(ctx.attr("groups"))
    split = list(shape[:axis]) + [groups, shape[axis] // groups] + list(shape[axis + 1 :])
    y = ctx.call("swapaxes", ctx.call("reshape", x, split), axis, axis + 1)
    return ctx.call("reshape", y, list(shape))


@lowering("Interleave", domain="mlx.internal")
def interleave(ctx: LowerCtx):
    """passes/shuffle.py's fused Concat + ChannelShuffle: channel j of part k goes to j * g + k."""
    return ctx.call("native_interleave", [ctx.input(i) for i in range(len(ctx.node.inputs))])
