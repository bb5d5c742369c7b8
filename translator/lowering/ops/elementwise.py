"""Lowerings for this op family. Each one is a few lines of calls; see ops/misc.py."""

from __future__ import annotations

import numpy as np  # noqa: F401

from ..context import LowerCtx  # noqa: F401
from ..program import DType, Ref, Slice  # noqa: F401
from ..registry import lowering  # noqa: F401


@lowering("Relu")
def relu(ctx: LowerCtx) -> Ref:
    return ctx.call("maximum", ctx.input(0), ctx.scalar(0, ctx.dtype(0)))


@lowering("Add")
def add(ctx: LowerCtx) -> Ref:
    return ctx.call("add", ctx.input(0), ctx.input(1))
