"""Helpers for the shape ops: run-time forms of ops whose shape-like inputs are not constant.

Each helper reads its small shape-like inputs (axes, pads, starts, ...) on the
host with `to_ints` and then uses plain MLX calls, exactly like the lowering
does at translation time when those inputs are constant.
"""

from __future__ import annotations

import mlx.core as mx
import numpy as np

from . import helper
from .common import to_ints


@helper
def slice_bounds(dim, start, end, step):
    """ONNX Slice clamping of (start, end) on an axis of length `dim`, as Python slice bounds."""
    if step == 0:
        raise ValueError("Slice step cannot be 0")
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start = min(max(start, 0), dim)
        end = min(max(end, 0), dim)
        return start, end
    start = min(max(start, 0), dim - 1)
    end = min(max(end, -1), dim - 1)
    # a clamped end of -1 means "through element 0", which a Python slice spells None
    return start, (None if end < 0 else end)


@helper(uses=("to_ints", "slice_bounds"))
def slice_rt(x, starts, ends, axes=None, steps=None):
    """ONNX Slice with run-time starts/ends/axes/steps."""
    s = to_ints(starts)
    e = to_ints(ends)
    ax = list(range(len(s))) if axes is None else [a % x.ndim for a in to_ints(axes)]
    st = [1] * len(s) if steps is None else to_ints(steps)
    index = [slice(None)] * x.ndim
    for a, b, c, d in zip(ax, s, e, st):
        lo, hi = slice_bounds(x.shape[a], b, c, d)
        index[a] = slice(lo, hi, d)
    return x[tuple(index)]


@helper(uses=("to_ints",))
def squeeze_rt(x, axes=None):
    """ONNX Squeeze with run-time axes (None: every dim of size 1)."""
    if axes is None:
        return mx.squeeze(x)
    return mx.squeeze(x, [a % x.ndim for a in to_ints(axes)])


@helper(uses=("to_ints",))
def unsqueeze_rt(x, axes):
    """ONNX Unsqueeze with run-time axes (relative to the output rank)."""
    ax = to_ints(axes)
    rank = x.ndim + len(ax)
    return mx.expand_dims(x, sorted(a % rank for a in ax))


@helper(uses=("to_ints",))
def split_rt(x, axis, num, split=None):
    """ONNX Split into `num` outputs with a run-time split tensor (None: equal, last may be smaller)."""
    n = x.shape[axis]
    if split is None:
        chunk = -(-n // num)
        sizes = [min(chunk, max(n - i * chunk, 0)) for i in range(num)]
    else:
        sizes = to_ints(split)
    index = [slice(None)] * x.ndim
    outs = []
    begin = 0
    for size in sizes:
        index[axis] = slice(begin, begin + size)
        outs.append(x[tuple(index)])
        begin += size
    return outs


@helper(uses=("to_ints",))
def expand_rt(x, shape):
    """ONNX Expand (bidirectional broadcast) to a run-time shape."""
    target = tuple(to_ints(shape))
    return mx.broadcast_to(x, tuple(np.broadcast_shapes(tuple(x.shape), target)))


@helper(uses=("to_ints",))
def tile_rt(x, repeats):
    """ONNX Tile with run-time repeats."""
    return mx.tile(x, to_ints(repeats))


@helper
def pad_index(n, before, after, mode):
    """Source indices (numpy) along one axis for edge/reflect/wrap padding."""
    j = np.arange(-before, n + after)
    if mode == "edge":
        return np.clip(j, 0, n - 1)
    if mode == "wrap":
        return np.mod(j, n)
    if n == 1:
        return np.zeros_like(j)
    m = np.mod(j, 2 * n - 2)
    return np.where(m < n, m, 2 * n - 2 - m)


@helper(uses=("to_ints", "pad_index"))
def pad_rt(x, pads, mode="constant", value=None, axes=None):
    """ONNX Pad with run-time pads/axes (negative pads crop first)."""
    p = to_ints(pads)
    rank = x.ndim
    ax = list(range(rank)) if axes is None else [a % rank for a in to_ints(axes)]
    k = len(ax)
    width = [[0, 0] for _ in range(rank)]
    for i, a in enumerate(ax):
        width[a] = [p[i], p[i + k]]
    crop = tuple(slice(max(-b, 0), x.shape[a] + min(e, 0)) for a, (b, e) in enumerate(width))
    x = x[crop]
    width = [(max(b, 0), max(e, 0)) for b, e in width]
    if not any(b or e for b, e in width):
        return x
    if mode == "constant":
        if value is None:
            return mx.pad(x, width)
        return mx.pad(x, width, constant_values=value.astype(x.dtype) if isinstance(value, mx.array) else value)
    for a, (b, e) in enumerate(width):
        if b or e:
            if x.shape[a] == 0:
                raise ValueError(f"cannot {mode}-pad an empty axis")
            x = mx.take(x, mx.array(pad_index(x.shape[a], b, e, mode)), axis=a)
    return x


@helper(uses=("to_ints",))
def center_crop_pad_rt(x, shape, axes=None):
    """ONNX CenterCropPad with a run-time target shape."""
    target = to_ints(shape)
    ax = list(range(x.ndim)) if axes is None else [a % x.ndim for a in axes]
    index = [slice(None)] * x.ndim
    width = [(0, 0)] * x.ndim
    for a, t in zip(ax, target):
        n = x.shape[a]
        if t < n:
            b = (n - t) // 2
            index[a] = slice(b, b + t)
        elif t > n:
            b = (t - n) // 2
            width[a] = (b, t - n - b)
    x = x[tuple(index)]
    return mx.pad(x, width) if any(b or e for b, e in width) else x


@helper
def range_rt(start, limit, delta):
    """ONNX Range with run-time scalars: start + i * delta for i < ceil((limit - start) / delta)."""
    dtype = start.dtype
    if mx.issubdtype(dtype, mx.integer):
        s, lim, d = (int(v.item()) for v in (start, limit, delta))
        n = max(-(-(lim - s) // d), 0)
        return (mx.arange(n, dtype=mx.int64) * d + s).astype(dtype)
    s, lim, d = (float(v.astype(mx.float64).item()) for v in (start, limit, delta))
    n = max(int(np.ceil((lim - s) / d)), 0)
    return (mx.arange(n, dtype=mx.float64) * d + s).astype(dtype)


@helper(uses=("to_ints",))
def col2im_rt(x, image_shape, block_shape, dilations, pads, strides):
    """ONNX Col2Im: scatter-add (N, C*prod(block), L) columns into an (N, C, *image) image."""
    image = to_ints(image_shape)
    block = to_ints(block_shape)
    nd = len(image)
    dil = list(dilations) if dilations else [1] * nd
    pad = list(pads) if pads else [0] * (2 * nd)
    st = list(strides) if strides else [1] * nd
    padded = [image[i] + pad[i] + pad[i + nd] for i in range(nd)]
    counts = [(padded[i] - (dil[i] * (block[i] - 1) + 1)) // st[i] + 1 for i in range(nd)]
    k = int(np.prod(block))
    n, ck, length = x.shape
    c = ck // k
    if length != int(np.prod(counts)):
        raise ValueError("Col2Im: input length does not match the image and block shapes")
    # padded-image coordinate of each (block offset, block position) pair
    offs = np.stack(np.meshgrid(*[np.arange(b) for b in block], indexing="ij"), -1).reshape(-1, nd)
    locs = np.stack(np.meshgrid(*[np.arange(m) for m in counts], indexing="ij"), -1).reshape(-1, nd)
    coords = offs[:, None, :] * np.array(dil) + locs[None, :, :] * np.array(st)
    strides_flat = np.cumprod([1] + padded[::-1])[:-1][::-1]
    lin = (coords * strides_flat).sum(-1).reshape(-1)
    cols = mx.transpose(x.reshape(n, c, k * length), (2, 0, 1))
    out = mx.zeros((int(np.prod(padded)), n, c), dtype=x.dtype).at[mx.array(lin)].add(cols)
    out = mx.transpose(out, (1, 2, 0)).reshape([n, c] + padded)
    crop = tuple([slice(None), slice(None)] + [slice(pad[i], pad[i] + image[i]) for i in range(nd)])
    return out[crop]


@helper
def flatten_rt(x, axis=1):
    """ONNX Flatten for an input whose rank is only known at run time."""
    axis = axis % (x.ndim + 1) if axis < 0 else axis
    lead = int(np.prod(x.shape[:axis], dtype=np.int64))
    return x.reshape(lead, int(np.prod(x.shape[axis:], dtype=np.int64)))
