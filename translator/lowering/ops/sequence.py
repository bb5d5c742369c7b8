"""Sequences (Python lists of arrays) and optionals (None or a value)."""

from __future__ import annotations

from opset.program import Ref

import numpy as np

from ..context import LowerCtx
from ..registry import lowering


@lowering("SequenceEmpty", since=11)
def sequence_empty(ctx: LowerCtx):
    return ctx.call("seq_construct", [])


@lowering("SequenceConstruct", since=11)
def sequence_construct(ctx: LowerCtx):
    return ctx.call("seq_construct", [ctx.input(i) for i in range(ctx.num_inputs)])


@lowering("SequenceAt", since=11)
def sequence_at(ctx: LowerCtx):
    return ctx.call("seq_at", ctx.input(0), ctx.input(1))


@lowering("SequenceInsert", since=11)
def sequence_insert(ctx: LowerCtx):
    pos = ctx.input(2) if ctx.has_input(2) else None
    return ctx.call("seq_insert", ctx.input(0), ctx.input(1), pos)


@lowering("SequenceErase", since=11)
def sequence_erase(ctx: LowerCtx):
    pos = ctx.input(1) if ctx.has_input(1) else None
    return ctx.call("seq_erase", ctx.input(0), pos)


@lowering("SequenceLength", since=11)
def sequence_length(ctx: LowerCtx):
    return ctx.call("seq_length", ctx.input(0))


@lowering("SplitToSequence", since=11)
def split_to_sequence(ctx: LowerCtx):
    axis = int(ctx.attr("axis", 0))
    if axis < 0:
        axis += ctx.rank(0)
    keepdims = int(ctx.attr("keepdims", 1))
    split = None
    if ctx.has_input(1):
        known = ctx.const(1)
        if known is None:
            split = ctx.input(1)
        else:
            split = int(known) if known.ndim == 0 else [int(v) for v in known.reshape(-1)]
    return ctx.call("split_to_seq", ctx.input(0), split, axis, keepdims)


@lowering("ConcatFromSequence", since=11)
def concat_from_sequence(ctx: LowerCtx):
    axis = int(ctx.attr("axis"))
    new_axis = int(ctx.attr("new_axis", 0))
    shape = ctx.value(0).shape
    if axis < 0:
        if shape is None:
            ctx.fail("a negative axis needs the elements' rank")
        axis += len(shape) + new_axis
    return ctx.call("concat_from_seq", ctx.input(0), axis, new_axis)


@lowering("Optional", since=15)
def optional(ctx: LowerCtx):
    return ctx.input(0) if ctx.has_input(0) else ctx.call("optional_none")


@lowering("OptionalHasElement", since=15)
def optional_has_element(ctx: LowerCtx):
    if not ctx.has_input(0):
        return ctx.literal(np.array(False), np.bool_)
    if ctx.value(0).kind != "optional":  # a plain tensor or sequence (opset 18+): always present
        return ctx.literal(np.array(True), np.bool_)
    return ctx.call("optional_has", ctx.input(0))


@lowering("OptionalGetElement", since=15)
def optional_get_element(ctx: LowerCtx) -> Ref:
    if ctx.value(0).kind != "optional":
        return ctx.input(0)
    return ctx.call("optional_get", ctx.input(0))
