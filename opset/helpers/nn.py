"""Helpers for the neural-network op family (pools, Resize, GridSample, RoiAlign, ...).

Each helper is self-contained (mx, np, math and other helpers only): the module
back end inlines its source. Spatial axes are passed explicitly so a layout pass
can reuse the pooling helpers on channels-last tensors. Helpers use `np` rather
than `math` (generated modules import numpy whenever they inline a helper).
"""

from __future__ import annotations

import mlx.core as mx
import numpy as np

from .. import native
from . import helper
from .common import to_ints

# ----------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------


@helper
def pool_geometry(in_sizes, kernel, strides, dilations, pads_lo, pads_hi, ceil_mode=False, auto_pad="NOTSET"):
    """(pads_lo, pads_hi, out_sizes, extra_hi) of an ONNX pool over the given spatial sizes.

    extra_hi is the padding needed past pads_hi for ceil_mode windows (never counted
    as padding by AveragePool).
    """
    nd = len(in_sizes)
    lo, hi = [int(v) for v in pads_lo], [int(v) for v in pads_hi]
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        for i in range(nd):
            out = -(-in_sizes[i] // strides[i])
            total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in_sizes[i])
            small = total // 2
            lo[i], hi[i] = (small, total - small) if auto_pad == "SAME_UPPER" else (total - small, small)
    elif auto_pad == "VALID":
        lo, hi = [0] * nd, [0] * nd
    outs, extra = [], []
    for i in range(nd):
        span = (kernel[i] - 1) * dilations[i] + 1
        num = in_sizes[i] + lo[i] + hi[i] - span
        if ceil_mode:
            o = -(-num // strides[i]) + 1
            if (o - 1) * strides[i] >= in_sizes[i] + lo[i]:
                o -= 1  # the last window must start inside the input or its left padding
        else:
            o = num // strides[i] + 1
        o = max(o, 0)
        outs.append(o)
        extra.append(max(0, (o - 1) * strides[i] + span - (in_sizes[i] + lo[i] + hi[i])))
    return lo, hi, outs, extra


@helper
def pool_fill(dtype, kind):
    """The padding value of a pool: the dtype's lowest value for max, else 0.

    For floats that is the lowest finite value, like onnxruntime (its running max starts
    there), so a window holding only padding gives -FLT_MAX, not -inf.
    """
    if kind != "max":
        return 0
    if mx.issubdtype(dtype, mx.floating):
        return float(mx.finfo(dtype).min)
    if dtype == mx.bool_:
        return False
    return int(np.iinfo(np.dtype(str(dtype).split(".")[-1])).min)


@helper(uses=("pool_geometry", "pool_fill"))
def pool_nd(
    x,
    kind,
    axes,
    kernel,
    strides,
    dilations,
    pads_lo,
    pads_hi,
    ceil_mode=False,
    count_include_pad=False,
    p=2.0,
    auto_pad="NOTSET",
):
    """ONNX MaxPool / AveragePool / LpPool (kind "max" | "avg" | "lp" | "sum") over `axes`."""
    in_sizes = [x.shape[a] for a in axes]
    lo, hi, outs, extra = pool_geometry(in_sizes, kernel, strides, dilations, pads_lo, pads_hi, ceil_mode, auto_pad)
    y = x
    if kind == "lp":
        y = mx.square(x) if p == 2 else mx.power(mx.abs(x), p)
    widths = [(0, 0)] * x.ndim
    for i, a in enumerate(axes):
        widths[a] = (lo[i], hi[i] + extra[i])
    if any(w != (0, 0) for w in widths):
        y = mx.pad(y, widths, constant_values=pool_fill(x.dtype, kind))

    def combine(acc, part):
        if acc is None:
            return part
        return mx.maximum(acc, part) if kind == "max" else acc + part

    def window(i, j):
        return slice(j * dilations[i], j * dilations[i] + (outs[i] - 1) * strides[i] + 1, strides[i])

    if int(np.prod(kernel)) <= 4:
        # Small windows: one strided slice per kernel offset (fewest passes over memory).
        acc = None
        for off in np.ndindex(*kernel):
            index = [slice(None)] * y.ndim
            for i, a in enumerate(axes):
                index[a] = window(i, off[i])
            acc = combine(acc, y[tuple(index)])
        y = acc
    else:
        # Larger windows: separable, one axis at a time.
        for i, a in enumerate(axes):
            if kernel[i] == 1 and strides[i] == 1 and y.shape[a] == outs[i]:
                continue
            lead = (slice(None),) * a
            acc = None
            for j in range(kernel[i]):
                acc = combine(acc, y[lead + (window(i, j),)])
            y = acc
    if kind == "avg":
        counts = None
        for i, a in enumerate(axes):
            pos = np.arange(outs[i])[:, None] * strides[i] - lo[i] + np.arange(kernel[i])[None, :] * dilations[i]
            if count_include_pad:
                valid = (pos >= -lo[i]) & (pos < in_sizes[i] + hi[i])
            else:
                valid = (pos >= 0) & (pos < in_sizes[i])
            shape = [1] * x.ndim
            shape[a] = outs[i]
            c = valid.sum(axis=1).reshape(shape)
            counts = c if counts is None else counts * c
        # A window holding only padding (count 0) sums to 0 and stays 0, as in onnxruntime.
        if counts is not None and counts.size and np.all(counts == counts.flat[0]):
            y = y / float(counts.flat[0]) if counts.flat[0] > 1 else y
        elif counts is not None:
            y = y / mx.array(np.maximum(counts, 1).astype(np.float32)).astype(y.dtype)
    elif kind == "lp":
        y = mx.sqrt(y) if p == 2 else mx.power(y, 1.0 / p)
    return y.astype(x.dtype)


@helper(uses=("pool_geometry", "pool_fill"))
def maxpool_with_indices(
    x, kernel, strides, dilations, pads_lo, pads_hi, ceil_mode=False, storage_order=0, auto_pad="NOTSET"
):
    """ONNX MaxPool with its Indices output (flat NC... indices into the unpadded input)."""
    nd = x.ndim - 2
    sp = list(x.shape[2:])
    lo, hi, outs, extra = pool_geometry(sp, kernel, strides, dilations, pads_lo, pads_hi, ceil_mode, auto_pad)
    if 0 in outs:  # no window fits: empty outputs (argmax cannot reduce an empty array)
        shape = list(x.shape[:2]) + outs
        return mx.zeros(shape, dtype=x.dtype), mx.zeros(shape, dtype=mx.int64)
    plane = int(np.prod(sp)) if sp else 1
    nc = x.shape[0] * x.shape[1]
    if storage_order == 0:
        flat = np.arange(plane, dtype=np.int64).reshape(sp)
    else:
        flat = np.zeros(sp, dtype=np.int64)
        step = 1
        for i in range(nd):
            shape = [1] * nd
            shape[i] = sp[i]
            flat = flat + np.arange(sp[i], dtype=np.int64).reshape(shape) * step
            step *= sp[i]
    # Padding gets the flat index of position (-1, ..., -1): onnxruntime's index for a window that holds
    # only padding (its per-axis argmax indices start at -1).
    steps = [int(np.prod(sp[:i] if storage_order else sp[i + 1 :])) for i in range(nd)]
    flat = np.pad(flat, [(lo[i], hi[i] + extra[i]) for i in range(nd)], constant_values=-sum(steps))
    idx = (np.arange(nc, dtype=np.int64) * plane).reshape([x.shape[0], x.shape[1]] + [1] * nd) + flat
    widths = [(0, 0), (0, 0)] + [(lo[i], hi[i] + extra[i]) for i in range(nd)]
    xp = mx.pad(x, widths, constant_values=pool_fill(x.dtype, "max"))
    ip = mx.array(idx)
    vals, inds = [], []
    for off in np.ndindex(*kernel):
        index = (slice(None), slice(None)) + tuple(
            slice(off[i] * dilations[i], off[i] * dilations[i] + (outs[i] - 1) * strides[i] + 1, strides[i])
            for i in range(nd)
        )
        vals.append(xp[index])
        inds.append(ip[index])
    v = mx.stack(vals, axis=-1)
    which = mx.expand_dims(mx.argmax(v, axis=-1), -1)
    y = mx.take_along_axis(v, which, axis=-1).squeeze(-1)
    i = mx.take_along_axis(mx.stack(inds, axis=-1), which, axis=-1).squeeze(-1)
    return y, i


@helper(uses=("to_ints",))
def max_unpool(x, indices, inferred_spatial, output_shape=None):
    """ONNX MaxUnpool: scatter into the inferred shape, then place it at the origin of output_shape."""
    lead = list(x.shape[:2])
    inferred = lead + [int(v) for v in inferred_spatial]
    total = int(np.prod(inferred))
    flat = mx.zeros((total,), dtype=x.dtype)
    flat = mx.put_along_axis(flat, indices.reshape(-1).astype(mx.int64), x.reshape(-1), axis=0)
    y = flat.reshape(inferred)
    if output_shape is None:
        return y
    shape = to_ints(output_shape)
    if shape == inferred:
        return y
    widths = [(0, max(0, s - i)) for s, i in zip(shape, inferred)]
    y = mx.pad(y, widths)
    return y[tuple(slice(0, s) for s in shape)]


@helper
def pad_same(x, axes, kernel, strides, dilations, upper=True):
    """Zero-pad `axes` of x (at run time) as auto_pad SAME_UPPER / SAME_LOWER would."""
    widths = [(0, 0)] * x.ndim
    for i, a in enumerate(axes):
        n = x.shape[a]
        out = -(-n // strides[i])
        total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - n)
        small = total // 2
        widths[a] = (small, total - small) if upper else (total - small, small)
    return mx.pad(x, widths)


# ----------------------------------------------------------------------------
# Resize
# ----------------------------------------------------------------------------


@helper
def resize_axis_map(
    in_size,
    out_size,
    scale,
    mode="nearest",
    ctm="half_pixel",
    nearest_mode="round_prefer_floor",
    cubic_a=-0.75,
    exclude_outside=False,
    antialias=False,
    roi=(0.0, 1.0),
):
    """Index and weight maps of a 1-D ONNX Resize along one axis (computed with numpy).

    Returns (idx, coeffs, extrapolated): idx int64 (out, taps) clamped into the input,
    coeffs float64 (out, taps), extrapolated a bool (out,) mask or None.
    """
    # Coordinates are computed in float32 with onnxruntime's formulas (ties in nearest
    # rounding then agree with it). Like onnxruntime (and the spec's length_resized), the
    # modes that need the output length use the integer out_size, not scale * in_size.
    f = np.float32
    s = f(scale)
    half, one = f(0.5), f(1)
    y = np.arange(out_size, dtype=f)
    n_out, n_in1 = f(out_size), f(in_size - 1)
    extrap = None
    if ctm == "align_corners":
        x = np.zeros(out_size, f) if out_size == 1 else y * n_in1 / (n_out - one)
    elif ctm == "asymmetric":
        x = y / s
    elif ctm == "tf_crop_and_resize":
        r0, r1 = f(roi[0]), f(roi[1])
        if out_size > 1:
            x = r0 * n_in1 + y * (r1 - r0) * n_in1 / (n_out - one)
        else:
            x = np.full(out_size, f(0.5 * float(r0 + r1) * float(n_in1)), f)
        extrap = (x < 0) | (x > in_size - 1)
    elif ctm == "pytorch_half_pixel":
        x = (y + half) / s - half if out_size > 1 else np.zeros(out_size, f)
    elif ctm == "half_pixel":
        x = (y + half) / s - half
    elif ctm == "half_pixel_symmetric":
        offset = f(in_size) / f(2) * (one - n_out / (s * f(in_size)))
        x = (float(offset) + (y.astype(np.float64) + 0.5) / float(s) - 0.5).astype(f)  # onnxruntime: double
    else:
        raise ValueError(f"unknown coordinate_transformation_mode {ctm!r}")
    x = x.astype(np.float64)

    if mode == "nearest":
        if nearest_mode == "round_prefer_floor":
            i = np.ceil(x - 0.5)
        elif nearest_mode == "round_prefer_ceil":
            i = np.floor(x + 0.5)
        elif nearest_mode == "floor":
            i = np.floor(x)
        elif nearest_mode == "ceil":
            i = np.ceil(x)
        elif nearest_mode == "simple":  # Resize-10 / Upsample
            i = np.ceil(x) if float(scale) < 1 else np.floor(x)
        else:
            raise ValueError(f"unknown nearest_mode {nearest_mode!r}")
        idx = np.clip(i, 0, in_size - 1).astype(np.int64)[:, None]
        return idx, np.ones((out_size, 1)), extrap

    # The window starts left of x; ratio in (0, 1] (1 when x is an integer).
    base = np.ceil(x) - 1
    ratio = x - base
    s = min(float(scale), 1.0) if antialias else 1.0
    if mode == "linear":
        start = int(np.floor(-1 / s) + 1) if antialias else 0
        offs = np.arange(start, 2 - start, dtype=np.float64)
        coeffs = np.clip(1 - np.abs((offs[None, :] - ratio[:, None]) * s), 0, 1)
    elif mode == "cubic":
        a = float(cubic_a)
        start = int(np.floor(-2 / s) + 1) if antialias else -1
        offs = np.arange(start, 2 - start, dtype=np.float64)
        t = np.abs((offs[None, :] - ratio[:, None]) * s)
        t2, t3 = t * t, t * t * t
        near = (a + 2) * t3 - (a + 3) * t2 + 1
        far = a * t3 - 5 * a * t2 + 8 * a * t - 4 * a
        coeffs = np.where(t <= 1, near, np.where(t < 2, far, 0.0))
    else:
        raise ValueError(f"unknown Resize mode {mode!r}")
    if antialias:
        coeffs = coeffs / coeffs.sum(axis=1, keepdims=True)
    raw = base[:, None].astype(np.int64) + offs[None, :].astype(np.int64)
    if exclude_outside:
        coeffs = np.where((raw < 0) | (raw >= in_size), 0.0, coeffs)
        total = coeffs.sum(axis=1, keepdims=True)
        coeffs = coeffs / np.where(total == 0, 1.0, total)
    return np.clip(raw, 0, in_size - 1), coeffs, extrap


def resize_axis_matrix(idx, coeffs, in_size):
    """The dense (out, in) float64 matrix of one axis's Resize maps (from resize_axis_map).

    Taps clamped onto the same input index add up, exactly as the gather-and-sum does.
    """
    out = idx.shape[0]
    m = np.zeros((out, in_size), np.float64)
    np.add.at(m, (np.repeat(np.arange(out), idx.shape[1]), idx.reshape(-1)), coeffs.reshape(-1))
    return m


@helper(calls_native=True)
def resize_apply_axis(x, axis, idx, coeffs, extrap=None, extrapolation_value=0.0):
    """Apply one axis's Resize maps (from resize_axis_map) to x."""
    out, taps = idx.shape
    ndim = x.ndim
    if taps == 1:
        col = idx[:, 0]
        if out == x.shape[axis] and np.array_equal(col, np.arange(out)):
            y = x
        elif out % x.shape[axis] == 0 and np.array_equal(col, np.arange(out) // (out // x.shape[axis])):
            y = mx.repeat(x, out // x.shape[axis], axis=axis)
        else:
            y = mx.take(x, mx.array(col.astype(np.int32)), axis=axis)
    elif x.dtype == mx.float32:  # the taps on the pool's threads (MLX's gathers where the kernels cannot run)
        y = native.resize_axis(x, axis, mx.array(idx.astype(np.int32)), mx.array(coeffs.astype(np.float32)))
    else:
        dtype = x.dtype if mx.issubdtype(x.dtype, mx.floating) else mx.float32
        g = mx.take(x.astype(dtype), mx.array(idx.reshape(-1).astype(np.int32)), axis=axis)
        g = g.reshape(x.shape[:axis] + (out, taps) + x.shape[axis + 1 :])
        w = mx.array(coeffs.reshape((out, taps) + (1,) * (ndim - axis - 1)).astype(np.float32)).astype(dtype)
        y = mx.sum(g * w, axis=axis + 1)
    if extrap is not None and bool(np.any(extrap)):
        m = mx.array(extrap.reshape((out,) + (1,) * (ndim - axis - 1)))
        y = mx.where(m, mx.array(extrapolation_value, dtype=y.dtype), y)
    return y


@helper
def resize_plan(in_shape, scales=None, sizes=None, axes=None, keep_aspect_ratio_policy="stretch"):
    """(per-axis scales, output sizes) of an ONNX Resize from its scales or sizes.

    As onnxruntime computes them, in float32: scale = float(size) / float(dim), and
    size = int(scale * float(dim)) (or round(...) under a keep_aspect_ratio_policy).
    """
    f = np.float32
    r = len(in_shape)
    axes = list(range(r)) if axes is None else [int(a) % r for a in axes]
    if sizes is not None:
        sizes = [int(v) for v in np.array(sizes).reshape(-1)]
        full = list(in_shape)
        for a, v in zip(axes, sizes):
            full[a] = v
        sc = [float(f(full[i]) / f(in_shape[i])) if in_shape[i] else 1.0 for i in range(r)]
        if keep_aspect_ratio_policy in ("not_larger", "not_smaller"):
            pick = min if keep_aspect_ratio_policy == "not_larger" else max
            s = pick(sc[a] for a in axes)
            sc = [s if i in axes else 1.0 for i in range(r)]
            full = [int(np.floor(float(f(s) * f(in_shape[i])) + 0.5)) if i in axes else in_shape[i] for i in range(r)]
        return sc, full
    vals = np.array(scales, dtype=np.float32).reshape(-1)
    sc = [1.0] * r
    for a, v in zip(axes, vals):
        sc[a] = float(v)
    full = [int(f(sc[i]) * f(in_shape[i])) for i in range(r)]
    return sc, full


@helper(uses=("resize_plan", "resize_axis_map", "resize_apply_axis"))
def resize_nd(
    x,
    scales=None,
    sizes=None,
    roi=None,
    axes=None,
    mode="nearest",
    ctm="half_pixel",
    nearest_mode="round_prefer_floor",
    cubic_a=-0.75,
    exclude_outside=False,
    antialias=False,
    extrapolation_value=0.0,
    keep_aspect_ratio_policy="stretch",
):
    """ONNX Resize with scales/sizes/roi known only at run time."""
    shape = list(x.shape)
    r = len(shape)
    sc, full = resize_plan(shape, scales, sizes, axes, keep_aspect_ratio_policy)
    if 0 in full:
        return mx.zeros(full, dtype=x.dtype)  # an empty output
    roi_full = [0.0] * r + [1.0] * r
    if roi is not None and np.array(roi).size:
        rv = np.array(roi, dtype=np.float64).reshape(-1)
        ax = list(range(r)) if axes is None else [int(a) % r for a in axes]
        n = len(ax)
        for i, a in enumerate(ax):
            roi_full[a], roi_full[r + a] = rv[i], rv[n + i]
    y = x
    for a in range(r):
        box = (roi_full[a], roi_full[r + a])
        if full[a] == shape[a] and bool(np.isclose(sc[a], 1.0)) and (ctm != "tf_crop_and_resize" or box == (0.0, 1.0)):
            continue
        idx, coeffs, extrap = resize_axis_map(
            shape[a], full[a], sc[a], mode, ctm, nearest_mode, cubic_a, exclude_outside, antialias, box
        )
        y = resize_apply_axis(y, a, idx, coeffs, extrap, extrapolation_value)
    if y.dtype != x.dtype:
        if not mx.issubdtype(x.dtype, mx.floating):
            info = np.iinfo(np.dtype(str(x.dtype).split(".")[-1]))
            y = mx.clip(mx.round(y), info.min, info.max)
        y = y.astype(x.dtype)
    return y


# ----------------------------------------------------------------------------
# GridSample, AffineGrid, RoiAlign, DeformConv
# ----------------------------------------------------------------------------


@helper
def reflect_coords(v, lo, hi):
    """Reflect coordinates into [lo, hi] by the nearer border, repeatedly."""
    rng = hi - lo
    if rng <= 0:
        return mx.zeros_like(v) + lo
    below = v < lo
    dx = mx.where(below, lo - v, v - hi)
    n = mx.floor(dx / rng)
    r = dx - n * rng
    even = mx.remainder(n, 2) == 0
    from_below = mx.where(even, lo + r, hi - r)
    from_above = mx.where(even, hi - r, lo + r)
    return mx.where(below, from_below, mx.where(v > hi, from_above, v))


@helper(uses=("reflect_coords",))
def grid_sample_nd(x, grid, mode="linear", padding_mode="zeros", align_corners=0):
    """ONNX GridSample (2-D or N-D) with nearest / linear / cubic sampling."""
    if mode == "bilinear":
        mode = "linear"
    elif mode == "bicubic":
        mode = "cubic"
    n, c = x.shape[0], x.shape[1]
    dims = list(x.shape[2:])
    nd = len(dims)
    out_sp = list(grid.shape[1:-1])
    npos = int(np.prod(out_sp)) if out_sp else 1
    g = grid.astype(mx.float32).reshape(n, npos, nd)
    per_axis = []
    for i in range(nd):
        d = dims[i]
        v = g[:, :, nd - 1 - i]
        if align_corners:
            v = (v + 1) / 2 * (d - 1)
            lo_b, hi_b = 0.0, float(d - 1)
        else:
            v = ((v + 1) * d - 1) / 2
            lo_b, hi_b = -0.5, d - 0.5
        if mode == "nearest":
            v = mx.round(v)
        outside = (v < lo_b) | (v > hi_b)
        if padding_mode == "border":
            v = mx.where(outside, mx.clip(v, 0, d - 1), v)
        elif padding_mode == "reflection":
            v = mx.where(outside, reflect_coords(v, lo_b, hi_b), v)
        if mode == "nearest":
            taps = [(v.astype(mx.int32), None)]
        else:
            f = mx.floor(v)
            r = v - f
            i0 = f.astype(mx.int32)
            if mode == "linear":
                taps = [(i0, 1 - r), (i0 + 1, r)]
            else:
                a = -0.75
                ws = []
                for t in (r + 1, r, 1 - r, 2 - r):
                    t2, t3 = t * t, t * t * t
                    near = (a + 2) * t3 - (a + 3) * t2 + 1
                    far = a * t3 - 5 * a * t2 + 8 * a * t - 4 * a
                    ws.append(mx.where(t <= 1, near, far))
                taps = [(i0 - 1, ws[0]), (i0, ws[1]), (i0 + 1, ws[2]), (i0 + 2, ws[3])]
        fixed = []
        for idx, w in taps:
            if padding_mode == "zeros":
                valid = (idx >= 0) & (idx < d)
                w = valid.astype(mx.float32) if w is None else mx.where(valid, w, 0.0)
            elif padding_mode == "reflection":
                idx = reflect_coords(idx.astype(mx.float32), lo_b, hi_b).astype(mx.int32)
            fixed.append((mx.clip(idx, 0, d - 1), w))
        per_axis.append(fixed)
    strides = [int(np.prod(dims[i + 1 :])) for i in range(nd)]
    xf = x.reshape(n, c, -1)
    out = None
    for combo in np.ndindex(*[len(t) for t in per_axis]):
        flat, w = None, None
        for i, j in enumerate(combo):
            idx, wi = per_axis[i][j]
            term = idx * strides[i]
            flat = term if flat is None else flat + term
            if wi is not None:
                w = wi if w is None else w * wi
        vals = mx.take_along_axis(xf, mx.expand_dims(flat, 1), axis=2)
        if w is not None:
            vals = vals * mx.expand_dims(w, 1).astype(vals.dtype)
        out = vals if out is None else out + vals
    return out.reshape([n, c] + out_sp).astype(x.dtype)


@helper
def affine_grid_base(spatial, align_corners=0):
    """Homogeneous base grid (prod(spatial), nd+1) of AffineGrid, x (last dim) first."""
    nd = len(spatial)
    axes = []
    for d in spatial:
        d = int(d)
        if align_corners:
            # linspace(-1, 1, d); for d == 1 onnxruntime (Eigen's LinSpaced) gives the end point, 1.
            a = np.ones(d) if d == 1 else -1 + np.arange(d) * (2.0 / (d - 1))
        else:
            a = -1 + (2 * np.arange(d) + 1) / d
        axes.append(a)
    mesh = np.meshgrid(*axes, indexing="ij")
    cols = [mesh[nd - 1 - i].reshape(-1) for i in range(nd)]
    cols.append(np.ones(cols[0].shape))
    return np.stack(cols, axis=1)


@helper(uses=("affine_grid_base", "to_ints"))
def affine_grid(theta, size, align_corners=0):
    """ONNX AffineGrid with a run-time size."""
    shape = to_ints(size)
    spatial = shape[2:]
    base = mx.array(affine_grid_base(spatial, align_corners).astype(np.float32)).astype(theta.dtype)
    grid = mx.matmul(base, mx.swapaxes(theta, 1, 2))
    return grid.reshape([theta.shape[0]] + spatial + [len(spatial)])


@helper
def roi_align(
    x, rois, batch_indices, mode="avg", out_h=1, out_w=1, sampling_ratio=0, spatial_scale=1.0, half_pixel=True
):
    """ONNX RoiAlign (avg or max) with bilinear sampling; sample grids are built with numpy."""
    n, c, h, w = x.shape
    r_np = np.array(rois.astype(mx.float32)).astype(np.float64).reshape(-1, 4)
    b_np = np.array(batch_indices).astype(np.int64).reshape(-1)
    nr = r_np.shape[0]
    off = 0.5 if half_pixel else 0.0
    starts_w = r_np[:, 0] * spatial_scale - off
    starts_h = r_np[:, 1] * spatial_scale - off
    roi_w = r_np[:, 2] * spatial_scale - off - starts_w
    roi_h = r_np[:, 3] * spatial_scale - off - starts_h
    if not half_pixel:
        roi_w, roi_h = np.maximum(roi_w, 1.0), np.maximum(roi_h, 1.0)
    bin_h, bin_w = roi_h / out_h, roi_w / out_w
    if sampling_ratio > 0:
        gh = np.full(nr, int(sampling_ratio))
        gw = np.full(nr, int(sampling_ratio))
    else:
        gh = np.ceil(roi_h / out_h).astype(np.int64)
        gw = np.ceil(roi_w / out_w).astype(np.int64)
    GH, GW = max(int(gh.max()) if nr else 1, 1), max(int(gw.max()) if nr else 1, 1)
    ph = np.arange(out_h)[None, :, None, None, None]
    pw = np.arange(out_w)[None, None, :, None, None]
    iy = np.arange(GH)[None, None, None, :, None]
    ix = np.arange(GW)[None, None, None, None, :]

    def per_roi(v):
        return v.reshape(-1, 1, 1, 1, 1)

    ghr, gwr = np.maximum(per_roi(gh), 1), np.maximum(per_roi(gw), 1)
    yy = per_roi(starts_h) + ph * per_roi(bin_h) + (iy + 0.5) * per_roi(bin_h) / ghr
    xx = per_roi(starts_w) + pw * per_roi(bin_w) + (ix + 0.5) * per_roi(bin_w) / gwr
    yy, xx = np.broadcast_arrays(yy, xx)
    used = np.broadcast_to((iy < per_roi(gh)) & (ix < per_roi(gw)), yy.shape)
    empty = (yy < -1.0) | (yy > h) | (xx < -1.0) | (xx > w)
    y = np.maximum(yy, 0.0)
    xv = np.maximum(xx, 0.0)
    y_low = np.floor(y).astype(np.int64)
    x_low = np.floor(xv).astype(np.int64)
    ytop = y_low >= h - 1
    xtop = x_low >= w - 1
    y_low = np.where(ytop, h - 1, y_low)
    x_low = np.where(xtop, w - 1, x_low)
    y_high = np.where(ytop, h - 1, y_low + 1)
    x_high = np.where(xtop, w - 1, x_low + 1)
    y = np.where(ytop, y_low, y)
    xv = np.where(xtop, x_low, xv)
    ly, lx = y - y_low, xv - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    pos = np.stack([y_low * w + x_low, y_low * w + x_high, y_high * w + x_low, y_high * w + x_high], axis=-1)
    wts = np.stack([hy * hx, hy * lx, ly * hx, ly * lx], axis=-1)
    wts = np.where(empty[..., None], 0.0, wts)
    pos = np.where(empty[..., None], 0, pos)
    ns = GH * GW
    xs = mx.take(x.reshape(n, c, h * w), mx.array(b_np.astype(np.int32)), axis=0)
    vals = mx.take_along_axis(xs, mx.array(pos.reshape(nr, 1, -1).astype(np.int32)), axis=2)
    vals = vals.reshape(nr, c, out_h, out_w, ns, 4)
    wm = mx.array(wts.reshape(nr, 1, out_h, out_w, ns, 4).astype(np.float32)).astype(vals.dtype)
    prod = vals * wm
    usable = mx.array(used.reshape(nr, 1, out_h, out_w, ns))
    if mode == "max":
        m = mx.max(prod, axis=-1)
        m = mx.where(usable, m, -float(np.inf))
        out = mx.max(m, axis=-1)
    else:
        s = mx.sum(mx.where(mx.expand_dims(usable, -1), prod, 0.0), axis=(-1, -2))
        count = np.maximum(gh * gw, 1).astype(np.float32).reshape(nr, 1, 1, 1)
        out = s / mx.array(count).astype(s.dtype)
    return out.astype(x.dtype)


@helper
def deform_conv2d(
    x, w, offset, bias=None, mask=None, strides=(1, 1), pads=(0, 0), dilations=(1, 1), group=1, offset_group=1
):
    """ONNX DeformConv (2-D): bilinear sampling at offset kernel taps, then a grouped matmul."""
    n, ic, ih, iw = x.shape
    oc, icg, kh, kw = w.shape
    oh, ow = offset.shape[2], offset.shape[3]
    G = offset_group
    dt = x.dtype
    off = offset.reshape(n, G, kh, kw, 2, oh, ow).astype(dt)
    bh = (np.arange(kh) * dilations[0]).reshape(1, 1, kh, 1, 1, 1) + (np.arange(oh) * strides[0] - pads[0]).reshape(
        1, 1, 1, 1, oh, 1
    )
    bw = (np.arange(kw) * dilations[1]).reshape(1, 1, 1, kw, 1, 1) + (np.arange(ow) * strides[1] - pads[1]).reshape(
        1, 1, 1, 1, 1, ow
    )
    hh = off[:, :, :, :, 0] + mx.array(bh.astype(np.float32)).astype(dt)
    ww = off[:, :, :, :, 1] + mx.array(bw.astype(np.float32)).astype(dt)
    h0, w0 = mx.floor(hh), mx.floor(ww)
    lh, lw = hh - h0, ww - w0
    h0, w0 = h0.astype(mx.int32), w0.astype(mx.int32)
    xg = x.reshape(n, G, ic // G, ih * iw)
    L = kh * kw * oh * ow
    sampled = None
    for dy, wy in ((0, 1 - lh), (1, lh)):
        for dx, wx in ((0, 1 - lw), (1, lw)):
            yi, xi = h0 + dy, w0 + dx
            valid = (yi >= 0) & (yi < ih) & (xi >= 0) & (xi < iw)
            flat = mx.clip(yi, 0, ih - 1) * iw + mx.clip(xi, 0, iw - 1)
            vals = mx.take_along_axis(xg, flat.reshape(n, G, 1, L), axis=3)
            wt = mx.where(valid, wy * wx, 0.0).reshape(n, G, 1, L)
            term = vals * wt
            sampled = term if sampled is None else sampled + term
    if mask is not None:
        sampled = sampled * mask.reshape(n, G, 1, L).astype(dt)
    cols = sampled.reshape(n, group, icg * kh * kw, oh * ow)
    wr = w.reshape(group, oc // group, icg * kh * kw).astype(dt)
    y = mx.matmul(wr, cols).reshape(n, oc, oh, ow)
    if bias is not None:
        y = y + bias.reshape(1, oc, 1, 1).astype(dt)
    return y
