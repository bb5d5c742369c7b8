"""ONNX sequences as Python lists of arrays, and optionals as None or a value."""

from __future__ import annotations

import mlx.core as mx

from . import helper


@helper
def seq_construct(items):
    return list(items)


@helper
def seq_position(seq, pos, insert=False):
    """A sequence position as a non-negative index; out of range is an error, as in onnxruntime."""
    n = len(seq)
    p = int(pos.item()) if isinstance(pos, mx.array) else int(pos)
    limit = n if insert else n - 1
    if p < -n or p > limit:
        raise ValueError(f"sequence position {p} is out of range for a sequence of length {n}")
    return p + n if p < 0 else p


@helper(uses=("seq_position",))
def seq_at(seq, pos):
    return seq[seq_position(seq, pos)]


@helper(uses=("seq_position",))
def seq_insert(seq, x, pos=None):
    out = list(seq)
    out.insert(len(out) if pos is None else seq_position(seq, pos, insert=True), x)
    return out


@helper(uses=("seq_position",))
def seq_erase(seq, pos=None):
    out = list(seq)
    del out[len(out) - 1 if pos is None else seq_position(seq, pos)]
    return out


@helper
def seq_length(seq):
    return mx.array(len(seq), dtype=mx.int64)


@helper
def split_to_seq(x, split, axis, keepdims):
    """SplitToSequence: `split` None (pieces of 1), an int (chunk length), or a list of lengths."""
    n = x.shape[axis]
    if split is None:
        if not keepdims:
            return [mx.take(x, mx.array(i), axis=axis) for i in range(n)]
        split = 1
    if isinstance(split, mx.array):
        split = split.tolist()
    if isinstance(split, int):
        lengths = [split] * (n // split) + ([n % split] if n % split else [])
    else:
        lengths = [int(s) for s in split]
    out, start = [], 0
    for length in lengths:
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, start + length)
        out.append(x[tuple(index)])
        start += length
    return out


@helper
def concat_from_seq(seq, axis, new_axis):
    if new_axis:
        return mx.stack(seq, axis=axis)
    return mx.concatenate(seq, axis=axis)


@helper
def optional_has(x):
    return mx.array(x is not None, dtype=mx.bool_)


@helper
def optional_get(x):
    if x is None:
        raise ValueError("OptionalGetElement of an empty optional")
    return x


@helper
def optional_none():
    """An empty optional."""
    return None
