"""Run-time steps of control flow, shared by both back ends.

The generated module prints `if`/`while` around these; the op-list executor
calls the same functions (opset.execute), so both decide branches, count
iterations and collect loop outputs identically.
"""

from __future__ import annotations

import mlx.core as mx

from . import helper


@helper
def branch_taken(cond):
    """If's condition (a one-element tensor) as a Python bool: the one value control flow waits for."""
    return bool(cond.item())


@helper
def loop_trip(count):
    """Loop's trip count as a Python int (from a tensor, an int or a shape dim); None: no limit."""
    if count is None:
        return None
    return int(count.item()) if isinstance(count, mx.array) else int(count)


@helper
def loop_go(cond):
    """Whether a loop continues: its condition tensor as a bool; an absent condition never stops it."""
    return True if cond is None else bool(cond.item())


@helper
def loop_index(i):
    """The body's iteration-number input: an int64 scalar."""
    return mx.array(i, dtype=mx.int64)


@helper
def loop_flag(go):
    """The body's condition input: a bool scalar."""
    return mx.array(go, dtype=mx.bool_)


@helper
def stack_parts(parts, dtype, tail):
    """A loop's per-iteration outputs stacked on a new first axis; (0, *tail) when it ran no iteration."""
    if parts:
        return mx.stack(parts)
    return mx.zeros((0, *[d if isinstance(d, int) else 0 for d in tail]), dtype=dtype)
