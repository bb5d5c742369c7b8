"""Helpers for the indexing ops (gather/scatter forms MLX has no single call for,
and data-dependent ops that read their input on the host)."""

from __future__ import annotations

import mlx.core as mx
import numpy as np

from . import helper
from .common import to_ints


@helper
def gather_nd(data, indices, batch_dims=0):
    """ONNX GatherND: index the leading dims of `data` (after batch_dims) with indices[..., :k]."""
    b = batch_dims
    k = indices.shape[-1]
    nb = 1
    for d in data.shape[:b]:
        nb *= d
    inner = list(data.shape[b : b + k])
    rest = tuple(data.shape[b + k :])
    out_shape = tuple(indices.shape[:-1]) + rest
    m = 1
    for d in indices.shape[b:-1]:
        m *= d
    if nb * m == 0:
        return mx.zeros(out_shape, dtype=data.dtype)
    idx = indices.astype(mx.int64).reshape(nb, m, k)
    idx = mx.where(idx < 0, idx + mx.array(inner, dtype=mx.int64), idx)
    strides = [1] * k
    for i in range(k - 2, -1, -1):
        strides[i] = strides[i + 1] * inner[i + 1]
    lin = (idx * mx.array(strides, dtype=mx.int64)).sum(-1)
    flat = data.reshape((nb, -1) + rest)
    out = flat[mx.arange(nb)[:, None], lin]
    return out.reshape(out_shape)


@helper
def scatter_elements(data, indices, updates, axis=0, reduction="none"):
    """ONNX ScatterElements (reduction none/add/mul/max/min) with negative indices."""
    rank = data.ndim
    axis = axis % rank
    idx = indices.astype(mx.int64)
    idx = mx.where(idx < 0, idx + data.shape[axis], idx)
    strides = [1] * rank
    for i in range(rank - 2, -1, -1):
        strides[i] = strides[i + 1] * data.shape[i + 1]
    lin = mx.zeros(indices.shape, dtype=mx.int64)
    for d in range(rank):
        if d == axis:
            coord = idx
        else:
            coord = mx.arange(indices.shape[d], dtype=mx.int64).reshape([-1 if i == d else 1 for i in range(rank)])
        lin = lin + coord * strides[d]
    lin = lin.reshape(-1)
    upd = updates.reshape(-1)
    flat = data.reshape(-1)
    if reduction == "none":
        return mx.put_along_axis(flat, lin, upd, axis=0).reshape(data.shape)
    at = flat.at[lin]
    fn = {"add": at.add, "mul": at.multiply, "max": at.maximum, "min": at.minimum}[reduction]
    return fn(upd).reshape(data.shape)


@helper
def scatter_nd(data, indices, updates, reduction="none"):
    """ONNX ScatterND (reduction none/add/mul/max/min) with negative indices."""
    k = indices.shape[-1]
    inner = list(data.shape[:k])
    rest = tuple(data.shape[k:])
    idx = indices.astype(mx.int64).reshape(-1, k)
    if idx.shape[0] == 0:
        return data
    idx = mx.where(idx < 0, idx + mx.array(inner, dtype=mx.int64), idx)
    strides = [1] * k
    for i in range(k - 2, -1, -1):
        strides[i] = strides[i + 1] * inner[i + 1]
    lin = (idx * mx.array(strides, dtype=mx.int64)).sum(-1)
    n = 1
    for d in inner:
        n *= d
    flat = data.reshape((n,) + rest)
    upd = updates.reshape((-1,) + rest)
    if reduction == "none":
        where = mx.broadcast_to(lin.reshape((-1,) + (1,) * len(rest)), upd.shape)
        return mx.put_along_axis(flat, where, upd, axis=0).reshape(data.shape)
    at = flat.at[lin]
    fn = {"add": at.add, "mul": at.multiply, "max": at.maximum, "min": at.minimum}[reduction]
    return fn(upd).reshape(data.shape)


@helper
def tensor_scatter(cache, update, write_indices=None, axis=-2, circular=False):
    """ONNX TensorScatter: write `update` into `cache` along `axis` from each batch's write index."""
    rank = cache.ndim
    axis = axis % rank
    b = cache.shape[0]
    size = cache.shape[axis]
    s = update.shape[axis]
    if write_indices is None:
        start = mx.zeros((b, 1), dtype=mx.int64)
    else:
        start = write_indices.astype(mx.int64).reshape(b, 1)
    pos = start + mx.arange(s, dtype=mx.int64).reshape(1, s)
    if circular:
        pos = pos % size
    shape = [1] * rank
    shape[0] = b
    shape[axis] = s
    pos = mx.broadcast_to(pos.reshape(shape), update.shape)
    return mx.put_along_axis(cache, pos, update, axis=axis)


@helper
def compress_rt(x, condition, axis=None):
    """ONNX Compress with a run-time condition (read on the host)."""
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    c = np.array(condition.astype(mx.bool_)).reshape(-1)[: x.shape[axis]]
    return mx.take(x, mx.array(np.nonzero(c)[0].astype(np.int32)), axis=axis)


@helper
def nonzero_rt(x):
    """ONNX NonZero: (rank, count) int64 coordinates of the non-zero elements (read on the host)."""
    mask = np.atleast_1d(np.array(x != 0))
    return mx.array(np.stack(np.nonzero(mask)).astype(np.int64).reshape(mask.ndim, -1))


@helper
def unique_rt(x, axis=None, sorted=1):
    """ONNX Unique: (Y, indices, inverse_indices, counts), computed on the host."""
    host = x.astype(mx.float32) if x.dtype == mx.bfloat16 else x
    a = np.array(host)
    if axis is None:
        x = x.reshape(-1)
        a = a.reshape(-1)
        axis = 0
    else:
        axis = axis % x.ndim
    if a.shape[axis] == 0:
        e = mx.zeros((0,), dtype=mx.int64)
        return x, e, e, e
    _, first, inverse, counts = np.unique(
        a, return_index=True, return_inverse=True, return_counts=True, axis=axis if a.ndim > 1 else None
    )
    inverse = inverse.reshape(-1)
    if not sorted:
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        first, counts, inverse = first[order], counts[order], rank[inverse]
    y = mx.take(x, mx.array(first.astype(np.int64)), axis=axis)
    as64 = [mx.array(v.astype(np.int64)) for v in (first, inverse, counts)]
    return y, as64[0], as64[1], as64[2]


@helper(uses=("to_ints",))
def topk_rt(x, k, axis=-1, largest=1):
    """ONNX TopK with a run-time k: sorted values and int64 indices (ties: lower index first)."""
    k = to_ints(k)[0]
    axis = axis % x.ndim
    n = x.shape[axis]
    if largest:
        order = mx.argsort(mx.flip(x, axis), axis=axis)
        pick = mx.arange(n - 1, n - 1 - k, -1)
        idx = (n - 1) - mx.take(order, pick, axis=axis).astype(mx.int64)
    else:
        idx = mx.take(mx.argsort(x, axis=axis), mx.arange(k), axis=axis).astype(mx.int64)
    return mx.take_along_axis(x, idx, axis=axis), idx


@helper
def reverse_sequence(x, lens, batch_axis=1, time_axis=0):
    """ONNX ReverseSequence: reverse the first lens[b] steps along time_axis of each batch b."""
    rank = x.ndim
    t = mx.arange(x.shape[time_axis], dtype=mx.int64).reshape([-1 if i == time_axis else 1 for i in range(rank)])
    n = lens.astype(mx.int64).reshape([-1 if i == batch_axis else 1 for i in range(rank)])
    idx = mx.broadcast_to(mx.where(t < n, n - 1 - t, t), x.shape)
    return mx.take_along_axis(x, idx, axis=time_axis)
