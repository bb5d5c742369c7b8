"""Neural-network ops: convolutions, pools, matmuls, normalizations, Resize, sampling.

The ONNX tensors are NCHW; MLX convolutions are channels-last. Conv lowers as
transpose -> conv_channels_last (NHWC in, NHWC out) -> transpose back, with
constant weights transposed once at translation time. A layout pass can call
`conv_channels_last` directly and drop the transposes.
"""

from __future__ import annotations

import math

from opset.helpers import nn as nnh
from opset.program import DType, Ref, Slice

import numpy as np

from .. import accurate
from ..context import MAX_TABLE_ELEMENTS, LowerCtx, dtype_name
from ..registry import lowering

# ----------------------------------------------------------------------------
# Small utilities
# ----------------------------------------------------------------------------


def _ints(values) -> list[int]:
    return [int(v) for v in values]


def _to_cl(nsp: int) -> tuple[int, ...]:
    """NC<spatial> -> N<spatial>C."""
    return (0, *range(2, nsp + 2), 1)


def _from_cl(nsp: int) -> tuple[int, ...]:
    """N<spatial>C -> NC<spatial>."""
    return (0, nsp + 1, *range(1, nsp + 1))


def _spatial_static(ctx: LowerCtx, i: int, nsp: int) -> list[int] | None:
    shape = ctx.shape(i)
    if shape is None or len(shape) != nsp + 2:
        return None
    sp = shape[2:]
    return list(sp) if all(isinstance(d, int) for d in sp) else None


def _is_empty_input(ctx: LowerCtx, i: int) -> bool:
    if not ctx.has_input(i):
        return True
    v = ctx.const(i)
    if v is not None:
        return v.size == 0
    shape = ctx.shape(i)
    return shape is not None and any(d == 0 for d in shape)


def _per_channel(ctx: LowerCtx, i: int, rank: int, dtype=None) -> Ref:
    """Input i (a per-channel vector) reshaped to broadcast along axis 1 of NC<spatial>."""
    c = ctx.const(i)
    if c is not None:
        arr = np.asarray(c)
        if dtype is not None:
            arr = arr.astype(dtype)
        return ctx.constant(arr.reshape([1, -1] + [1] * (rank - 2)) if arr.ndim <= 1 else arr[None], "param")
    ref = ctx.input(i)
    if dtype is not None and ctx.dtype(i) != np.dtype(dtype):
        ref = ctx.cast(ref, dtype)
    prank = ctx.rank(i)
    if prank <= 1:
        return ctx.call("reshape", ref, [1, -1] + [1] * (rank - 2))
    return ctx.call("expand_dims", ref, 0)


def _conv_geometry(ctx: LowerCtx, nsp: int, kernel, in_sp):
    """(strides, dilations, pads_lo, pads_hi) of a Conv-like node; pads None when auto_pad
    SAME needs run-time input sizes."""
    strides = _ints(ctx.attr("strides", [1] * nsp))
    dilations = _ints(ctx.attr("dilations", [1] * nsp))
    auto_pad = ctx.attr("auto_pad", "NOTSET") or "NOTSET"
    if auto_pad == "VALID":
        return strides, dilations, [0] * nsp, [0] * nsp
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        if in_sp is None:
            return strides, dilations, None, None
        lo, hi = [], []
        for n, k, s, d in zip(in_sp, kernel, strides, dilations):
            out = -(-n // s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - n)
            small = total // 2
            a, b = (small, total - small) if auto_pad == "SAME_UPPER" else (total - small, small)
            lo.append(a)
            hi.append(b)
        return strides, dilations, lo, hi
    pads = _ints(ctx.attr("pads", [0] * (2 * nsp)))
    return strides, dilations, pads[:nsp], pads[nsp:]


def conv_channels_last(
    ctx: LowerCtx,
    x: Ref,
    w: Ref,
    bias: Ref | None,
    strides,
    pads_lo,
    pads_hi,
    dilations,
    groups: int,
    nsp: int,
    *,
    input_dilation=None,
    flip: bool = False,
) -> Ref:
    """Channels-last convolution: x (N, *spatial, C), w (O, *kernel, C/groups) -> (N, *spatial', O).

    Emits mx.conv_general (split per group for grouped 3-D convolutions, which MLX lacks)
    and adds the optional bias (shape (O,)).
    """
    kwargs: dict = {}
    if any(s != 1 for s in strides):
        kwargs["stride"] = _ints(strides)
    if any(pads_lo) or any(pads_hi):
        kwargs["padding"] = (_ints(pads_lo), _ints(pads_hi))
    if any(d != 1 for d in dilations):
        kwargs["kernel_dilation"] = _ints(dilations)
    if input_dilation is not None and any(d != 1 for d in input_dilation):
        kwargs["input_dilation"] = _ints(input_dilation)
    if flip:
        kwargs["flip"] = True
    if groups > 1 and nsp > 2:
        xs = ctx.call_n("split", groups, x, groups, axis=-1)
        ws = ctx.call_n("split", groups, w, groups, axis=0)
        ys = [ctx.call("conv_general", xi, wi, **kwargs) for xi, wi in zip(xs, ws)]
        y = ctx.call("concatenate", ys, axis=-1)
    else:
        if groups > 1:
            kwargs["groups"] = int(groups)
        y = ctx.call("conv_general", x, w, **kwargs)
    if bias is not None:
        y = ctx.call("add", y, bias)
    return y


def _weight_cl(ctx: LowerCtx, i: int, nsp: int, dtype=None, zero_point: np.ndarray | None = None) -> Ref:
    """Conv weight (O, I, *k) as channels-last (O, *k, I): transposed once if constant."""
    w = ctx.const(i)
    if w is not None:
        arr = np.asarray(w)
        if dtype is not None:
            arr = arr.astype(np.float64)
            if zero_point is not None:
                zp = np.asarray(zero_point, np.float64)
                arr = arr - (zp.reshape([-1] + [1] * (arr.ndim - 1)) if zp.size > 1 else zp.reshape(()))
            arr = arr.astype(dtype)
        return ctx.constant(np.ascontiguousarray(np.moveaxis(arr, 1, -1)), "weight_cl")
    ref = ctx.input(i)
    if dtype is not None:
        ref = ctx.cast(ref, dtype)
        if zero_point is not None:
            zp = np.asarray(zero_point, np.float64)
            zp = zp.reshape([-1] + [1] * (nsp + 1)) if zp.size > 1 else zp.reshape(())
            ref = ctx.call("subtract", ref, ctx.constant(zp.astype(dtype), "w_zero_point"))
    return ctx.call("transpose", ref, (0, *range(2, nsp + 2), 1))


def _conv_nsp(ctx: LowerCtx) -> int:
    ws = ctx.shape(1)
    if ws is not None:
        return len(ws) - 2
    return ctx.rank(0) - 2


def _kernel(ctx: LowerCtx, nsp: int, from_weight: int = 1) -> list[int]:
    k = ctx.attr("kernel_shape")
    if k is not None:
        return _ints(k)
    ws = ctx.shape(from_weight)
    if ws is None or not all(isinstance(d, int) for d in ws[2:]):
        ctx.fail("kernel_shape is not given and the weight shape is unknown")
    return _ints(ws[2:])


def _conv_body(ctx: LowerCtx, x: Ref, w_cl: Ref, bias: Ref | None, nsp: int, kernel) -> Ref:
    """transpose to channels-last, conv, leave channels-last (caller transposes back)."""
    in_sp = _spatial_static(ctx, 0, nsp)
    strides, dilations, lo, hi = _conv_geometry(ctx, nsp, kernel, in_sp)
    groups = int(ctx.attr("group", 1))
    x_cl = ctx.call("transpose", x, _to_cl(nsp))
    if lo is None:
        upper = ctx.attr("auto_pad") == "SAME_UPPER"
        x_cl = ctx.call("pad_same", x_cl, list(range(1, nsp + 1)), kernel, strides, dilations, upper)
        lo, hi = [0] * nsp, [0] * nsp
    return conv_channels_last(ctx, x_cl, w_cl, bias, strides, lo, hi, dilations, groups, nsp)


# ----------------------------------------------------------------------------
# Convolutions
# ----------------------------------------------------------------------------


@lowering("Conv")
def conv(ctx: LowerCtx) -> Ref:
    nsp = _conv_nsp(ctx)
    kernel = _kernel(ctx, nsp)
    w_cl = _weight_cl(ctx, 1, nsp)
    bias = ctx.input(2) if ctx.has_input(2) else None
    y = _conv_body(ctx, ctx.input(0), w_cl, bias, nsp, kernel)
    return ctx.call("transpose", y, _from_cl(nsp))


def _exact_float(k_terms: int) -> np.dtype:
    """float32 if k_terms products of 8-bit values sum exactly in it, else float64."""
    return np.dtype(np.float32) if k_terms * 255 * 255 < 2**24 else np.dtype(np.float64)


def _zero_point(ctx: LowerCtx, i: int):
    """(constant value or None, Ref or None) of an optional zero-point input."""
    if not ctx.has_input(i):
        return None, None
    c = ctx.const(i)
    if c is not None:
        return np.asarray(c), None
    return None, ctx.input(i)


def _int_conv(ctx: LowerCtx, x_zp_idx: int, w_idx: int, w_zp_idx: int):
    """Integer conv accumulation (exact, in float) as channels-last float; and its dtype."""
    ws = ctx.shape(w_idx)
    nsp = len(ws) - 2 if ws is not None else ctx.rank(0) - 2
    kernel = _kernel(ctx, nsp, w_idx)
    k_terms = int(np.prod([d if isinstance(d, int) else 1 << 16 for d in ws[1:]])) if ws else 1 << 30
    ft = _exact_float(k_terms)
    xzc, xzr = _zero_point(ctx, x_zp_idx)
    wzc, wzr = _zero_point(ctx, w_zp_idx)
    x = ctx.cast(ctx.input(0), ft)
    if xzc is not None and np.any(xzc != 0):
        x = ctx.call("subtract", x, ctx.scalar(float(np.asarray(xzc).reshape(-1)[0]), ft))
    elif xzr is not None:
        x = ctx.call("subtract", x, ctx.cast(xzr, ft))
    if wzr is not None:
        # run-time zero point: subtract before the channels-last transpose
        w = ctx.cast(ctx.input(w_idx), ft)
        zp = ctx.cast(wzr, ft)
        zshape = ctx.shape(w_zp_idx)
        if zshape is None or len(zshape) == 1:
            zp = ctx.call("reshape", zp, [-1] + [1] * (nsp + 1))
        w = ctx.call("subtract", w, zp)
        w_cl = ctx.call("transpose", w, (0, *range(2, nsp + 2), 1))
    else:
        wzp = wzc if wzc is not None and np.any(wzc != 0) else None
        w_cl = _weight_cl(ctx, w_idx, nsp, dtype=ft, zero_point=wzp)
    in_sp = _spatial_static(ctx, 0, nsp)
    strides, dilations, lo, hi = _conv_geometry(ctx, nsp, kernel, in_sp)
    x_cl = ctx.call("transpose", x, _to_cl(nsp))
    if lo is None:
        upper = ctx.attr("auto_pad") == "SAME_UPPER"
        x_cl = ctx.call("pad_same", x_cl, list(range(1, nsp + 1)), kernel, strides, dilations, upper)
        lo, hi = [0] * nsp, [0] * nsp
    y = conv_channels_last(ctx, x_cl, w_cl, None, strides, lo, hi, dilations, int(ctx.attr("group", 1)), nsp)
    return y, ft, nsp


@lowering("ConvInteger", since=10)
def conv_integer(ctx: LowerCtx) -> Ref:
    y, _, nsp = _int_conv(ctx, 2, 1, 3)
    y = ctx.call("transpose", y, _from_cl(nsp))
    return ctx.cast(y, np.int32)


def _requantize(ctx: LowerCtx, acc: Ref, ft, scale: Ref | float, zp_idx: int, out_dtype) -> Ref:
    """saturate(round(acc * scale) + zero_point) in out_dtype."""
    y = ctx.call("multiply", acc, scale)
    y = ctx.call("round", y)
    zc, zr = _zero_point(ctx, zp_idx)
    if zc is not None:
        if np.any(zc != 0):
            y = ctx.call("add", y, ctx.scalar(float(np.asarray(zc).reshape(-1)[0]), ft))
    elif zr is not None:
        y = ctx.call("add", y, ctx.cast(zr, ft))
    info = np.iinfo(out_dtype)
    y = ctx.call("clip", y, ctx.scalar(info.min, ft), ctx.scalar(info.max, ft))
    return ctx.cast(y, out_dtype)


def _scale_ref(ctx: LowerCtx, i: int, ft) -> Ref:
    c = ctx.const(i)
    if c is not None:
        return ctx.constant(np.asarray(c).astype(ft), "scale")
    return ctx.cast(ctx.input(i), ft)


@lowering("QLinearConv", since=10)
def qlinear_conv(ctx: LowerCtx) -> Ref:
    # inputs: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B
    acc, ft, nsp = _int_conv(ctx, 2, 3, 5)
    if ctx.has_input(8):
        acc = ctx.call("add", acc, ctx.cast(ctx.input(8), ft))
    consts = [ctx.const(i) for i in (1, 4, 6)]
    if all(c is not None for c in consts):
        xs, ws, ys = (np.asarray(c, np.float64) for c in consts)
        scale = ctx.constant((xs.reshape(()) * ws.reshape(-1) / ys.reshape(())).astype(ft), "requant_scale")
    else:
        scale = ctx.call(
            "divide",
            ctx.call("multiply", _scale_ref(ctx, 1, ft), _scale_ref(ctx, 4, ft)),
            _scale_ref(ctx, 6, ft),
        )
    out_dtype = ctx.dtype(7) if ctx.has_input(7) else ctx.dtype(0)
    y = _requantize(ctx, acc, ft, scale, 7, out_dtype)
    return ctx.call("transpose", y, _from_cl(nsp))


@lowering("ConvTranspose")
def conv_transpose(ctx: LowerCtx) -> Ref:
    nsp = _conv_nsp(ctx)
    kernel = _kernel(ctx, nsp)
    groups = int(ctx.attr("group", 1))
    strides = _ints(ctx.attr("strides", [1] * nsp))
    dilations = _ints(ctx.attr("dilations", [1] * nsp))
    out_pad = _ints(ctx.attr("output_padding", [0] * nsp))
    out_shape = ctx.attr("output_shape")
    auto_pad = ctx.attr("auto_pad", "NOTSET") or "NOTSET"
    pads = ctx.attr("pads")
    in_sp = _spatial_static(ctx, 0, nsp)
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    if out_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        if in_sp is None:
            ctx.fail("output_shape / auto_pad SAME need static input spatial dims")
        if out_shape is not None:
            target = _ints(out_shape)[-nsp:]
        else:
            target = [n * s for n, s in zip(in_sp, strides)]
        full = [s * (n - 1) + op + sp for n, s, op, sp in zip(in_sp, strides, out_pad, spans)]
        if out_shape is not None and pads is not None and auto_pad == "NOTSET":
            lo = _ints(pads)[:nsp]
            hi = [f - t - a for f, t, a in zip(full, target, lo)]
        else:
            total = [f - t for f, t in zip(full, target)]
            if auto_pad == "SAME_UPPER":
                lo = [t // 2 for t in total]
            else:
                lo = [t - t // 2 for t in total]
            hi = [t - a for t, a in zip(total, lo)]
    elif auto_pad == "VALID" or pads is None:
        lo, hi = [0] * nsp, [0] * nsp
    else:
        p = _ints(pads)
        lo, hi = p[:nsp], p[nsp:]

    # Equivalent direct convolution over the stride-dilated input with the flipped kernel.
    w = ctx.const(1)
    if w is not None:
        w = np.asarray(w)
        cin, mg = w.shape[0], w.shape[1]
        we = w.reshape((groups, cin // groups, mg) + w.shape[2:])
        we = np.moveaxis(we, 1, -1)  # (g, M/g, *k, C/g)
        we = we.reshape((groups * mg,) + we.shape[2:])
        we = np.flip(we, axis=tuple(range(1, nsp + 1)))
        w_cl = ctx.constant(np.ascontiguousarray(we), "weight_cl")
        flip = False
    else:
        ws = ctx.static_shape(1)
        if ws is None:
            ctx.fail("ConvTranspose needs a weight of known shape")
        cin, mg = ws[0], ws[1]
        wr = ctx.call("reshape", ctx.input(1), [groups, cin // groups, mg, *ws[2:]])
        wr = ctx.call("transpose", wr, (0, 2, *range(3, nsp + 3), 1))
        w_cl = ctx.call("reshape", wr, [groups * mg, *ws[2:], cin // groups])
        flip = True
    conv_lo = [sp - 1 - a for sp, a in zip(spans, lo)]
    conv_hi = [sp - 1 - b + op for sp, b, op in zip(spans, hi, out_pad)]
    crop_lo = [max(0, -v) for v in conv_lo]
    crop_hi = [max(0, -v) for v in conv_hi]
    x_cl = ctx.call("transpose", ctx.input(0), _to_cl(nsp))
    bias = ctx.input(2) if ctx.has_input(2) else None
    y = conv_channels_last(
        ctx,
        x_cl,
        w_cl,
        bias,
        [1] * nsp,
        [max(0, v) for v in conv_lo],
        [max(0, v) for v in conv_hi],
        dilations,
        groups,
        nsp,
        input_dilation=strides,
        flip=flip,
    )
    if any(crop_lo) or any(crop_hi):
        index = (Slice(),) + tuple(Slice(a or None, -b if b else None) for a, b in zip(crop_lo, crop_hi)) + (Slice(),)
        y = ctx.call("getitem", y, index)
    return ctx.call("transpose", y, _from_cl(nsp))


@lowering("DeformConv", since=19)
def deform_conv(ctx: LowerCtx) -> Ref:
    nsp = _conv_nsp(ctx)
    if nsp != 2:
        ctx.fail("only 2-D DeformConv is supported")
    strides = _ints(ctx.attr("strides", [1, 1]))
    dilations = _ints(ctx.attr("dilations", [1, 1]))
    pads = _ints(ctx.attr("pads", [0, 0, 0, 0]))
    bias = ctx.input(3) if ctx.has_input(3) else None
    mask = ctx.input(4) if ctx.has_input(4) else None
    return ctx.call(
        "deform_conv2d",
        ctx.input(0),
        ctx.input(1),
        ctx.input(2),
        bias,
        mask,
        strides,
        pads[:2],
        dilations,
        int(ctx.attr("group", 1)),
        int(ctx.attr("offset_group", 1)),
    )


# ----------------------------------------------------------------------------
# Pools
# ----------------------------------------------------------------------------


def lower_pool(ctx: LowerCtx, kind: str, channels_last: bool = False):
    """MaxPool/AveragePool/LpPool; channels_last for the layout pass's NHWC twins."""
    nsp = ctx.rank(0) - 2
    kernel = _ints(ctx.attr("kernel_shape"))
    strides = _ints(ctx.attr("strides", [1] * nsp))
    dilations = _ints(ctx.attr("dilations", [1] * nsp))
    pads = _ints(ctx.attr("pads", [0] * (2 * nsp)))
    ceil_mode = bool(ctx.attr("ceil_mode", 0))
    auto_pad = ctx.attr("auto_pad", "NOTSET") or "NOTSET"
    x = ctx.input(0)
    if kind == "max" and len(ctx.node.outputs) > 1 and ctx.node.outputs[1]:
        y, idx = ctx.call_n(
            "maxpool_with_indices",
            2,
            x,
            kernel,
            strides,
            dilations,
            pads[:nsp],
            pads[nsp:],
            ceil_mode,
            int(ctx.attr("storage_order", 0)),
            auto_pad,
        )
        return [y, idx]
    kwargs: dict = {}
    if ceil_mode:
        kwargs["ceil_mode"] = True
    if kind == "avg" and ctx.attr("count_include_pad", 0):
        kwargs["count_include_pad"] = True
    if kind == "lp":
        kwargs["p"] = float(ctx.attr("p", 2))
    if auto_pad != "NOTSET":
        kwargs["auto_pad"] = auto_pad
    axes = list(range(1, nsp + 1)) if channels_last else list(range(2, nsp + 2))
    return ctx.call("pool_nd", x, kind, axes, kernel, strides, dilations, pads[:nsp], pads[nsp:], **kwargs)


@lowering("MaxPool")
def max_pool(ctx: LowerCtx):
    return lower_pool(ctx, "max")


@lowering("AveragePool")
def average_pool(ctx: LowerCtx):
    return lower_pool(ctx, "avg")


@lowering("LpPool")
def lp_pool(ctx: LowerCtx):
    return lower_pool(ctx, "lp")


def _spatial_axes(ctx: LowerCtx) -> tuple[int, ...]:
    return tuple(range(2, ctx.rank(0)))


@lowering("GlobalAveragePool")
def global_average_pool(ctx: LowerCtx) -> Ref:
    axes = _spatial_axes(ctx)
    return accurate.mean(ctx, ctx.input(0), axes, accurate.reduced_dims(ctx, 0, axes))


@lowering("GlobalMaxPool")
def global_max_pool(ctx: LowerCtx) -> Ref:
    return ctx.call("max", ctx.input(0), axis=_spatial_axes(ctx), keepdims=True)


@lowering("GlobalLpPool")
def global_lp_pool(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    p = float(ctx.attr("p", 2))
    axes = _spatial_axes(ctx)
    if p == 2:
        return ctx.call("sqrt", ctx.call("sum", ctx.call("square", x), axis=axes, keepdims=True))
    s = ctx.call("sum", ctx.call("power", ctx.call("abs", x), p), axis=axes, keepdims=True)
    return ctx.call("power", s, 1.0 / p)


@lowering("MaxUnpool", since=9)
def max_unpool(ctx: LowerCtx) -> Ref:
    nsp = ctx.rank(0) - 2
    kernel = _ints(ctx.attr("kernel_shape"))
    strides = _ints(ctx.attr("strides", [1] * nsp))
    pads = _ints(ctx.attr("pads", [0] * (2 * nsp)))
    in_sp = _spatial_static(ctx, 0, nsp)
    if in_sp is None:
        ctx.fail("MaxUnpool needs static input spatial dims")
    inferred = [(n - 1) * s - (pads[i] + pads[nsp + i]) + k for i, (n, s, k) in enumerate(zip(in_sp, strides, kernel))]
    out_shape = None
    if ctx.has_input(2):
        c = ctx.const(2)
        out_shape = _ints(c) if c is not None else ctx.input(2)
    return ctx.call("max_unpool", ctx.input(0), ctx.input(1), inferred, out_shape)


# ----------------------------------------------------------------------------
# Matrix products
# ----------------------------------------------------------------------------


def _float_for(dtype: np.dtype) -> np.dtype | None:
    """The float type to compute an integer matmul in (None if already float)."""
    return None if dtype.kind == "f" else np.dtype(np.float64)


@lowering("MatMul")
def matmul(ctx: LowerCtx) -> Ref:
    dt = ctx.dtype(0)
    ft = _float_for(dt)
    a, b = ctx.input(0), ctx.input(1)
    if ft is None:
        return ctx.call("matmul", a, b)
    y = ctx.call("matmul", ctx.cast(a, ft), ctx.cast(b, ft))
    return ctx.cast(y, dt)


@lowering("Gemm")
def gemm(ctx: LowerCtx) -> Ref:
    alpha = float(ctx.attr("alpha", 1.0))
    beta = float(ctx.attr("beta", 1.0))
    dt = ctx.dtype(0)
    ft = _float_for(dt)
    a = ctx.input(0)
    if ctx.attr("transA", 0):
        a = ctx.call("transpose", a)
    bc = ctx.const(1)
    if bc is not None and ctx.attr("transB", 0):
        b = ctx.constant(np.ascontiguousarray(np.asarray(bc).T), "weight_t")
    else:
        b = ctx.input(1)
        if ctx.attr("transB", 0):
            b = ctx.call("transpose", b)
    if ft is not None:
        a, b = ctx.cast(a, ft), ctx.cast(b, ft)
    y = ctx.call("matmul", a, b)
    if alpha != 1.0:
        y = ctx.call("multiply", y, ctx.scalar(alpha, ft or dt))
    if ctx.has_input(2) and beta != 0.0:
        cc = ctx.const(2)
        if cc is not None and beta != 1.0:
            c = ctx.constant(np.asarray(np.asarray(cc, np.float64) * beta).astype(cc.dtype), "bias")
        else:
            c = ctx.input(2)
            if beta != 1.0:
                c = ctx.call("multiply", c, ctx.scalar(beta, dt))
        if ft is not None:
            c = ctx.cast(c, ft)
        y = ctx.call("add", y, c)
    if ft is not None:
        y = ctx.cast(y, dt)
    return y


def _zp_for_matmul(ctx: LowerCtx, i: int, ft, row_axis: bool) -> Ref | float | None:
    """A zero point as something to subtract (per-row zero points of A get a trailing axis)."""
    c, r = _zero_point(ctx, i)
    if c is not None:
        if not np.any(c != 0):
            return None
        if c.size == 1:
            return ctx.scalar(float(c.reshape(-1)[0]), ft)
        arr = c.astype(ft)
        return ctx.constant(arr.reshape(-1, 1) if row_axis and arr.ndim == 1 else arr, "zero_point")
    if r is None:
        return None
    ref = ctx.cast(r, ft)
    if row_axis:
        shape = ctx.shape(i)
        if shape is not None and len(shape) == 1 and shape[0] != 1:
            ref = ctx.call("expand_dims", ref, -1)
    return ref


def _int_matmul(ctx: LowerCtx, a_i: int, azp_i: int, b_i: int, bzp_i: int):
    sa = ctx.shape(a_i)
    k = sa[-1] if sa and isinstance(sa[-1], int) else 1 << 30
    ft = _exact_float(k)
    a = ctx.cast(ctx.input(a_i), ft)
    zp = _zp_for_matmul(ctx, azp_i, ft, row_axis=True)
    if zp is not None:
        a = ctx.call("subtract", a, zp)
    bc = ctx.const(b_i)
    bzc, bzr = _zero_point(ctx, bzp_i)
    if bc is not None and bzr is None:
        barr = np.asarray(bc, np.float64)
        if bzc is not None:
            barr = barr - np.asarray(bzc, np.float64)
        b = ctx.constant(barr.astype(ft), "weight")
    else:
        b = ctx.cast(ctx.input(b_i), ft)
        zp = _zp_for_matmul(ctx, bzp_i, ft, row_axis=False)
        if zp is not None:
            b = ctx.call("subtract", b, zp)
    return ctx.call("matmul", a, b), ft


@lowering("MatMulInteger", since=10)
def matmul_integer(ctx: LowerCtx) -> Ref:
    y, _ = _int_matmul(ctx, 0, 2, 1, 3)
    return ctx.cast(y, np.int32)


@lowering("QLinearMatMul", since=10)
def qlinear_matmul(ctx: LowerCtx) -> Ref:
    # inputs: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp
    acc, ft = _int_matmul(ctx, 0, 2, 3, 5)
    consts = [ctx.const(i) for i in (1, 4, 6)]
    if all(c is not None for c in consts):
        # The reference multiplies in the scales' own float type.
        sdt = np.asarray(consts[0]).dtype
        a_s, b_s, y_s = (np.asarray(c).astype(sdt) for c in consts)
        if a_s.size > 1:
            a_s = a_s.reshape(-1, 1)  # per-row scale of A
        s = (a_s * b_s / y_s).astype(np.float64)
        scale = ctx.scalar(float(s.reshape(-1)[0]), ft) if s.size == 1 else ctx.constant(s.astype(ft), "scale")
    else:
        a_s = _scale_ref(ctx, 1, ft)
        shape = ctx.shape(1)
        if shape is None or (len(shape) == 1 and shape[0] != 1):
            a_s = ctx.call("reshape", a_s, [-1, 1])  # per-row scale of A
        scale = ctx.call("divide", ctx.call("multiply", a_s, _scale_ref(ctx, 4, ft)), _scale_ref(ctx, 6, ft))
    out_dtype = ctx.dtype(7) if ctx.has_input(7) else ctx.dtype(0)
    return _requantize(ctx, acc, ft, scale, 7, out_dtype)


@lowering("Einsum", since=12)
def einsum(ctx: LowerCtx) -> Ref:
    eq = str(ctx.attr("equation", "")).replace(" ", "")
    if not eq:
        ctx.fail("empty einsum equation")
    ins = [ctx.input(i) for i in range(ctx.num_inputs)]
    dt = ctx.dtype(0)
    if dt.kind in "iub":
        y = ctx.call("einsum", eq, *[ctx.cast(r, np.float64) for r in ins])
        return ctx.cast(y, dt)
    return ctx.call("einsum", eq, *ins)


# ----------------------------------------------------------------------------
# Normalizations
# ----------------------------------------------------------------------------


@lowering("BatchNormalization")
def batch_norm(ctx: LowerCtx):
    x = ctx.input(0)
    rank = ctx.rank(0)
    dt = ctx.dtype(0)
    eps = float(ctx.attr("epsilon", 1e-5))
    training = ctx.opset >= 14 and bool(ctx.attr("training_mode", 0))
    outs = [o for o in ctx.node.outputs[1:] if o]
    if not training and outs:
        ctx.fail("BatchNormalization training outputs before opset 14 are not supported")
    if training:
        axes = (0, *range(2, rank))
        mean, var, centred = accurate.mean_and_var(ctx, x, axes, accurate.reduced_dims(ctx, 0, axes))
        scale = _per_channel(ctx, 1, rank)
        bias = _per_channel(ctx, 2, rank)
        norm = ctx.call(
            "multiply",
            centred or ctx.call("subtract", x, mean),
            ctx.call("rsqrt", ctx.call("add", var, ctx.scalar(eps, dt))),
        )
        y = ctx.call("add", ctx.call("multiply", norm, scale), bias)
        momentum = float(ctx.attr("momentum", 0.9))
        results: list = [y]
        for stat, src in ((mean, 3), (var, 4)):
            cur = ctx.call("reshape", stat, [-1])
            run = ctx.call("multiply", ctx.input(src), ctx.scalar(momentum, ctx.dtype(src)))
            upd = ctx.call("multiply", ctx.cast(cur, ctx.dtype(src)), ctx.scalar(1 - momentum, ctx.dtype(src)))
            results.append(ctx.call("add", run, upd))
        return results
    consts = [ctx.const(i) for i in range(1, 5)]
    if all(c is not None for c in consts):
        gamma, beta, mean, var = (np.asarray(c, np.float64) for c in consts)
        scale = gamma / np.sqrt(var + eps)
        shift = beta - mean * scale
        shape = [1, -1] + [1] * (rank - 2) if gamma.ndim <= 1 else [1, *gamma.shape]
        s = ctx.constant(scale.astype(dt).reshape(shape), "scale")
        b = ctx.constant(shift.astype(dt).reshape(shape), "shift")
        return ctx.call("add", ctx.call("multiply", x, s), b)
    scale, bias, mean, var = (_per_channel(ctx, i, rank) for i in range(1, 5))
    inv = ctx.call("rsqrt", ctx.call("add", var, ctx.scalar(eps, dt)))
    y = ctx.call("multiply", ctx.call("subtract", x, mean), ctx.call("multiply", inv, scale))
    return ctx.call("add", y, bias)


def _vectors(ctx: LowerCtx, inputs) -> bool:
    """Whether these inputs are float32 vectors (the native norms' per-channel scale and bias)."""
    return all(ctx.rank(i) == 1 and ctx.dtype(i) == np.float32 for i in inputs)


@lowering("InstanceNormalization")
def instance_norm(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    rank = ctx.rank(0)
    eps = float(ctx.attr("epsilon", 1e-5))
    if ctx.attr("native") and ctx.dtype(0) == np.float32 and rank >= 3 and _vectors(ctx, (1, 2)):
        return ctx.call("native_instance_norm", x, ctx.input(1), ctx.input(2), eps)
    axes = tuple(range(2, rank))
    mean, var, centred = accurate.mean_and_var(ctx, x, axes, accurate.reduced_dims(ctx, 0, axes))
    norm = ctx.call(
        "multiply",
        centred or ctx.call("subtract", x, mean),
        ctx.call("rsqrt", ctx.call("add", var, ctx.scalar(eps, ctx.dtype(0)))),
    )
    y = ctx.call("multiply", norm, _per_channel(ctx, 1, rank))
    return ctx.call("add", y, _per_channel(ctx, 2, rank))


def _group_norm(ctx: LowerCtx, per_channel: bool) -> Ref:
    x = ctx.input(0)
    rank = ctx.rank(0)
    dt = ctx.dtype(0)
    groups = int(ctx.attr("num_groups"))
    eps = float(ctx.attr("epsilon", 1e-5))
    stash = int(ctx.attr("stash_type", 1))
    ct = np.dtype(np.float32) if stash == 1 and dt.itemsize < 4 else dt
    xs = x if ct == dt else ctx.cast(x, ct)
    lead = [ctx.dim(0, 0), groups, -1]
    g = ctx.call("reshape", xs, lead)
    shape0 = ctx.shape(0)
    per_group = None if shape0 is None else [*shape0[2:], shape0[1] // groups if isinstance(shape0[1], int) else None]
    mean, var, centred = accurate.mean_and_var(ctx, g, (2,), per_group)
    norm = ctx.call(
        "multiply",
        centred or ctx.call("subtract", g, mean),
        ctx.call("rsqrt", ctx.call("add", var, ctx.scalar(eps, ct))),
    )
    shape = ctx.shape(0)
    full = [ctx.dim(0, i) for i in range(rank)] if shape is not None else None
    if not per_channel:
        # opset 18: scale and bias per group
        sc = ctx.call("reshape", ctx.cast(ctx.input(1), ct), [1, groups, 1])
        bi = ctx.call("reshape", ctx.cast(ctx.input(2), ct), [1, groups, 1])
        y = ctx.call("add", ctx.call("multiply", norm, sc), bi)
        y = ctx.call("reshape", y, full)
    else:
        y = ctx.call("reshape", norm, full)
        y = ctx.call("add", ctx.call("multiply", y, _per_channel(ctx, 1, rank, ct)), _per_channel(ctx, 2, rank, ct))
    return y if ct == dt else ctx.cast(y, dt)


@lowering("GroupNormalization", since=18)
def group_norm_18(ctx: LowerCtx) -> Ref:
    return _group_norm(ctx, per_channel=False)


@lowering("GroupNormalization", since=21)
def group_norm_21(ctx: LowerCtx) -> Ref:
    return _group_norm(ctx, per_channel=True)


@lowering("LRN")
def lrn(ctx: LowerCtx) -> Ref:
    x = ctx.input(0)
    rank = ctx.rank(0)
    size = int(ctx.attr("size"))
    alpha = float(ctx.attr("alpha", 1e-4))
    beta = float(ctx.attr("beta", 0.75))
    bias = float(ctx.attr("bias", 1.0))
    dt = ctx.dtype(0)
    sq = ctx.call("square", x)
    lo = (size - 1) // 2
    hi = size - 1 - lo
    widths = [(0, 0)] * rank
    widths[1] = (lo, hi)
    padded = ctx.call("pad", sq, widths) if size > 1 else sq
    acc = None
    for j in range(size):
        stop = j - (size - 1)
        index = (Slice(), Slice(j or None, stop if stop else None))
        part = ctx.call("getitem", padded, index)
        acc = part if acc is None else ctx.call("add", acc, part)
    den = ctx.call("add", ctx.call("multiply", acc, ctx.scalar(alpha / size, dt)), ctx.scalar(bias, dt))
    den = ctx.call("power", den, ctx.scalar(beta, dt))
    return ctx.call("divide", x, den)


# ----------------------------------------------------------------------------
# Resize / Upsample
# ----------------------------------------------------------------------------


def _repeat_factor(idx: np.ndarray, n_in: int) -> int | None:
    """r if a one-tap index map is `repeat(arange(n_in), r)`, else None."""
    out, taps = idx.shape
    if taps != 1 or n_in == 0 or out % n_in:
        return None
    r = out // n_in
    return r if np.array_equal(idx[:, 0], np.arange(out) // r) else None


# A dense (out x in) interpolation matrix replaces the gather + multiply + sum of a linear/cubic axis:
# on MLX's CPU `take` is so slow that one matmul, zero taps included, wins even for 2048-long axes
# (measured 2-20x faster on 64..2048-long axes). The cap only bounds the constant's size (8 MB).
MAX_RESIZE_MATRIX_ELEMENTS = 1 << 21


def _matrix_fits(n_out: int, n_in: int) -> bool:
    return n_out * n_in <= MAX_RESIZE_MATRIX_ELEMENTS


def _resize_axis_matmul(ctx: LowerCtx, y: Ref, cur: list[int], a: int, m: np.ndarray) -> Ref:
    """Apply the (out, in) matrix `m` along axis `a` of y (shape `cur`) as one matmul."""
    rank = len(cur)
    if a == rank - 1:
        return ctx.call("matmul", y, ctx.constant(np.ascontiguousarray(m.T), "resize_matrix"))
    mc = ctx.constant(np.ascontiguousarray(m), "resize_matrix")
    if a == rank - 2:
        return ctx.call("matmul", mc, y)
    folded = ctx.call("reshape", y, cur[: a + 1] + [math.prod(cur[a + 1 :])])
    y = ctx.call("matmul", mc, folded)
    return ctx.call("reshape", y, cur[:a] + [m.shape[0]] + cur[a + 1 :])


def _resize_static(
    ctx: LowerCtx,
    x: Ref,
    in_shape: list[int],
    scales,
    sizes,
    roi,
    axes,
    opts: dict,
) -> Ref:
    """Emit per-axis gathers (or repeats) from index maps computed now."""
    native = bool(ctx.attr("native"))  # marked by the native pass: linear/cubic axes as native.resize_axis
    rank = len(in_shape)
    dt = ctx.dtype(0)
    sc, full = nnh.resize_plan(in_shape, scales, sizes, axes, opts["keep_aspect_ratio_policy"])
    if 0 in full:
        return ctx.call("full", tuple(full), ctx.scalar(0, dt), DType(dtype_name(dt)))  # an empty output
    roi_full = [0.0] * rank + [1.0] * rank
    if roi is not None and np.asarray(roi).size:
        rv = np.asarray(roi, np.float64).reshape(-1)
        ax = list(range(rank)) if axes is None else [int(a) % rank for a in axes]
        n = len(ax)
        for i, a in enumerate(ax):
            roi_full[a], roi_full[rank + a] = float(rv[i]), float(rv[n + i])
    mode, ctm = opts["mode"], opts["ctm"]
    maps = {}
    for a in range(rank):
        box = (roi_full[a], roi_full[rank + a])
        if full[a] == in_shape[a] and math.isclose(sc[a], 1.0) and (ctm != "tf_crop_and_resize" or box == (0.0, 1.0)):
            continue
        maps[a] = nnh.resize_axis_map(
            in_shape[a],
            full[a],
            sc[a],
            mode,
            ctm,
            opts["nearest_mode"],
            opts["cubic_a"],
            opts["exclude_outside"],
            opts["antialias"],
            box,
        )
    repeats = {a: _repeat_factor(m[0], in_shape[a]) for a, m in maps.items()}
    if maps and all(r is not None for r in repeats.values()) and all(m[2] is None for m in maps.values()):
        # Integer nearest upsampling: one broadcast of an interleaved view (faster than repeats).
        if all(r == 1 for r in repeats.values()):
            return x
        inter, wide = [], []
        for a in range(rank):
            r = repeats.get(a, 1)
            inter += [in_shape[a], 1] if r > 1 else [in_shape[a]]
            wide += [in_shape[a], r] if r > 1 else [in_shape[a]]
        y = ctx.call("broadcast_to", ctx.call("reshape", x, inter), wide)
        return ctx.call("reshape", y, [in_shape[a] * repeats.get(a, 1) for a in range(rank)])
    cur = list(in_shape)
    ft = dt if dt.kind == "f" else np.dtype(np.float32)
    y = x
    converted = False
    order = list(maps)
    if native:  # shrink first; then the last axis (its taps are gathers per value) while the others are small
        order.sort(key=lambda a: (maps[a][0].shape[0] > in_shape[a], a != rank - 1))
    for a in order:
        idx, coeffs, extrap = maps[a]
        out, taps = idx.shape
        if taps == 1:
            r = repeats[a]
            if r is not None and r > 1:
                y = ctx.call("repeat", y, r, axis=a)
            elif r is None:
                y = ctx.call("take", y, ctx.constant(idx[:, 0].astype(np.int32), "index"), axis=a)
        else:
            if not converted and ft != dt:
                y = ctx.cast(y, ft)
                converted = True
            if native and ft == np.float32:  # the taps alone, on the pool's threads
                y = ctx.call(
                    "native_resize_axis",
                    y,
                    a,
                    ctx.constant(idx.astype(np.int32), "index"),
                    ctx.constant(coeffs.astype(np.float32), "coeffs"),
                )
            elif _matrix_fits(out, cur[a]):
                y = _resize_axis_matmul(ctx, y, cur, a, nnh.resize_axis_matrix(idx, coeffs, cur[a]).astype(ft))
            else:
                g = ctx.call("take", y, ctx.constant(idx.reshape(-1).astype(np.int32), "index"), axis=a)
                g = ctx.call("reshape", g, cur[:a] + [out, taps] + cur[a + 1 :])
                w = coeffs.reshape([out, taps] + [1] * (rank - a - 1)).astype(ft)
                y = ctx.call("sum", ctx.call("multiply", g, ctx.constant(w, "coeffs")), axis=a + 1)
        cur[a] = out
        if extrap is not None and np.any(extrap):
            m = ctx.constant(extrap.reshape([out] + [1] * (rank - a - 1)), "extrapolated")
            y = ctx.call("where", m, ctx.scalar(opts["extrapolation_value"], ft), y)
    if converted:
        info = np.iinfo(dt)
        y = ctx.call("clip", ctx.call("round", y), ctx.scalar(info.min, ft), ctx.scalar(info.max, ft))
        y = ctx.cast(y, dt)
    return y


def _resize_tables_fit(ctx: LowerCtx, in_shape: list[int], scales, sizes, axes, opts: dict) -> bool:
    """Whether the index/weight maps of a static Resize stay within MAX_TABLE_ELEMENTS (else they are
    built at run time, from the actual input)."""
    try:
        sc, full = nnh.resize_plan(in_shape, scales, sizes, axes, opts["keep_aspect_ratio_policy"])
    except (OverflowError, ValueError):
        ctx.fail("the Resize scales give a non-finite output size")
    total = 0.0
    for n_in, n_out, s in zip(in_shape, full, sc):
        if n_out == n_in and math.isclose(s, 1.0) and opts["ctm"] != "tf_crop_and_resize":
            continue
        taps = {"nearest": 1.0, "linear": 2.0, "cubic": 4.0}[opts["mode"]]
        if opts["antialias"] and 0 < s < 1:
            taps = 2.0 * math.ceil(taps / 2 / s)
        total += max(n_out, 0) * taps
    return total <= MAX_TABLE_ELEMENTS


def _resize(ctx: LowerCtx, x: Ref, scales_i: int | None, sizes_i: int | None, roi_i: int | None, opts: dict):
    """Resize from inputs (indices may be None), static when everything is known."""
    axes = ctx.attr("axes")
    axes = _ints(axes) if axes is not None else None
    use_sizes = sizes_i is not None and not _is_empty_input(ctx, sizes_i)
    use_scales = not use_sizes and scales_i is not None and not _is_empty_input(ctx, scales_i)
    if not use_sizes and not use_scales:
        ctx.fail("Resize needs scales or sizes")
    idx = sizes_i if use_sizes else scales_i
    val = ctx.const(idx)
    roi = None
    roi_known = True
    if roi_i is not None and opts["ctm"] == "tf_crop_and_resize" and not _is_empty_input(ctx, roi_i):
        roi = ctx.const(roi_i)
        roi_known = roi is not None
    in_shape = ctx.static_shape(0)
    if val is not None and roi_known and in_shape is not None:
        scales = None if use_sizes else np.asarray(val)
        sizes = np.asarray(val) if use_sizes else None
        if _resize_tables_fit(ctx, list(in_shape), scales, sizes, axes, opts):
            return _resize_static(ctx, x, list(in_shape), scales, sizes, roi, axes, opts)
    kwargs = dict(
        mode=opts["mode"],
        ctm=opts["ctm"],
        nearest_mode=opts["nearest_mode"],
        cubic_a=opts["cubic_a"],
        exclude_outside=opts["exclude_outside"],
        antialias=opts["antialias"],
        extrapolation_value=opts["extrapolation_value"],
        keep_aspect_ratio_policy=opts["keep_aspect_ratio_policy"],
    )
    spec = (
        ctx.input(idx) if val is None else _ints(val) if use_sizes else [float(v) for v in np.asarray(val).reshape(-1)]
    )
    roi_arg = None
    if roi_i is not None and opts["ctm"] == "tf_crop_and_resize" and not _is_empty_input(ctx, roi_i):
        roi_arg = ctx.input(roi_i) if roi is None else [float(v) for v in np.asarray(roi).reshape(-1)]
    return ctx.call(
        "resize_nd",
        x,
        None if use_sizes else spec,
        spec if use_sizes else None,
        roi_arg,
        axes,
        **kwargs,
    )


def _resize_opts(ctx: LowerCtx, legacy: bool) -> dict:
    mode = ctx.attr("mode", "nearest")
    if mode == "bilinear":
        mode = "linear"
    if mode not in ("nearest", "linear", "cubic"):
        ctx.fail(f"Resize mode {mode!r} is not supported")
    return {
        "mode": mode,
        "ctm": "asymmetric" if legacy else ctx.attr("coordinate_transformation_mode", "half_pixel"),
        "nearest_mode": "simple" if legacy else ctx.attr("nearest_mode", "round_prefer_floor"),
        "cubic_a": float(ctx.attr("cubic_coeff_a", -0.75)),
        "exclude_outside": bool(ctx.attr("exclude_outside", 0)),
        "antialias": bool(ctx.attr("antialias", 0)) and mode != "nearest",
        "extrapolation_value": float(ctx.attr("extrapolation_value", 0.0)),
        "keep_aspect_ratio_policy": ctx.attr("keep_aspect_ratio_policy", "stretch"),
    }


@lowering("Resize", since=10)
def resize_10(ctx: LowerCtx) -> Ref:
    return _resize(ctx, ctx.input(0), 1, None, None, _resize_opts(ctx, legacy=True))


@lowering("Resize", since=11)
def resize_11(ctx: LowerCtx) -> Ref:
    return _resize(ctx, ctx.input(0), 2, 3, 1, _resize_opts(ctx, legacy=False))


@lowering("Upsample")
def upsample(ctx: LowerCtx) -> Ref:
    opts = _resize_opts(ctx, legacy=True)
    if ctx.opset >= 9:
        return _resize(ctx, ctx.input(0), 1, None, None, opts)
    scales = ctx.attr("scales")
    if scales is None:
        rank = ctx.rank(0)
        scales = [1.0] * (rank - 2) + [float(ctx.attr("height_scale", 1.0)), float(ctx.attr("width_scale", 1.0))]
    in_shape = ctx.static_shape(0)
    scales = [float(s) for s in scales]
    s32 = np.asarray(scales, np.float32)
    if in_shape is not None and _resize_tables_fit(ctx, list(in_shape), s32, None, None, opts):
        return _resize_static(ctx, ctx.input(0), list(in_shape), s32, None, None, None, opts)
    return ctx.call(
        "resize_nd", ctx.input(0), scales, None, None, None, mode=opts["mode"], ctm="asymmetric", nearest_mode="simple"
    )


# ----------------------------------------------------------------------------
# Sampling
# ----------------------------------------------------------------------------


@lowering("GridSample", since=16)
def grid_sample(ctx: LowerCtx) -> Ref:
    mode = ctx.attr("mode", "linear" if ctx.opset >= 20 else "bilinear")
    return ctx.call(
        "grid_sample_nd",
        ctx.input(0),
        ctx.input(1),
        mode,
        ctx.attr("padding_mode", "zeros"),
        int(ctx.attr("align_corners", 0)),
    )


@lowering("AffineGrid", since=20)
def affine_grid(ctx: LowerCtx) -> Ref:
    align = int(ctx.attr("align_corners", 0))
    size = ctx.const(1)
    theta = ctx.input(0)
    if size is None:
        return ctx.call("affine_grid", theta, ctx.input(1), align)
    shape = _ints(size)
    spatial = shape[2:]
    if math.prod(spatial) * (len(spatial) + 1) > MAX_TABLE_ELEMENTS:
        return ctx.call("affine_grid", theta, shape, align)  # a large base grid is built at run time
    base = nnh.affine_grid_base(spatial, align)
    b = ctx.constant(base.astype(ctx.dtype(0)), "base_grid")
    grid = ctx.call("matmul", b, ctx.call("swapaxes", theta, 1, 2))
    return ctx.call("reshape", grid, [shape[0], *spatial, len(spatial)])


@lowering("RoiAlign", since=10)
def roi_align(ctx: LowerCtx) -> Ref:
    half_pixel = ctx.opset >= 16 and ctx.attr("coordinate_transformation_mode", "half_pixel") == "half_pixel"
    return ctx.call(
        "roi_align",
        ctx.input(0),
        ctx.input(1),
        ctx.input(2),
        ctx.attr("mode", "avg"),
        int(ctx.attr("output_height", 1)),
        int(ctx.attr("output_width", 1)),
        int(ctx.attr("sampling_ratio", 0)),
        float(ctx.attr("spatial_scale", 1.0)),
        half_pixel,
    )
