"""Control flow: If, Loop, Scan and SequenceMap, lowered to `if`/`loop` calls with nested blocks.

Each subgraph is lowered once into a Block (lower_subgraph) and runs as Python
control flow in both back ends (see opset.program for the protocol). A
subgraph's reads of outer values arrive as the node's trailing inputs
(Node.num_captures), bound to the outer Refs inside the block. An If whose
condition is known at translation time is not emitted as an `if`: the taken
branch's calls are placed inline (the passes usually folded it earlier).
"""

from __future__ import annotations

from opset.program import Block, DType, Ref, Slice

from ...ir import Graph
from ..context import LowerCtx, dtype_name
from ..lower import lower_subgraph
from ..registry import lowering


def _captures(ctx: LowerCtx) -> list[Ref]:
    n = ctx.node.num_captures
    first = len(ctx.node.inputs) - n
    return [ctx.input(first + j) for j in range(n)]


def _bind_captures(sub: Graph, n_own: int, caps: list[Ref]) -> dict[str, Ref]:
    return dict(zip(sub.inputs[n_own:], caps))


def _subgraph(ctx: LowerCtx, attr: str) -> Graph:
    sub = ctx.attr(attr)
    if not isinstance(sub, Graph):
        ctx.fail(f"attribute {attr!r} is not a subgraph")
    return sub


def _params(ctx: LowerCtx, sub: Graph, count: int) -> tuple[str, ...]:
    return tuple(ctx.builder.names.new(name) for name in sub.inputs[:count])


def _own_inputs(ctx: LowerCtx, sub: Graph, count: int) -> None:
    if len(sub.inputs) - ctx.node.num_captures != count:
        ctx.fail(f"subgraph {sub.name!r} takes {len(sub.inputs) - ctx.node.num_captures} inputs, expected {count}")


@lowering("If")
def if_(ctx: LowerCtx):
    then_g, else_g = _subgraph(ctx, "then_branch"), _subgraph(ctx, "else_branch")
    n_out = len(ctx.node.outputs)
    for sub in (then_g, else_g):
        _own_inputs(ctx, sub, 0)
        if len(sub.outputs) != n_out:
            ctx.fail(f"branch {sub.name!r} yields {len(sub.outputs)} values for {n_out} outputs")
    caps = _captures(ctx)
    known = ctx.const(0)
    if known is not None:
        if known.size != 1:
            ctx.fail(f"the condition has {known.size} elements, not one")
        block = lower_subgraph(ctx, then_g if bool(known.reshape(-1)[0]) else else_g, _bind_captures(then_g, 0, caps))
        ctx.calls.extend(block.calls)
        return list(block.results)
    cond = ctx.input(0)
    then = lower_subgraph(ctx, then_g, _bind_captures(then_g, 0, caps))
    else_ = lower_subgraph(ctx, else_g, _bind_captures(else_g, 0, caps))
    return ctx.control("if", n_out, cond, blocks=(then, else_))


def _stacked(ctx: LowerCtx, parts: Ref, sub: Graph, out_name: str) -> Ref:
    """A loop's per-iteration list as one tensor (stack_parts: also right for zero iterations)."""
    v = sub.value(out_name)
    if v.kind != "tensor":
        ctx.fail(f"scan output {out_name!r} is a {v.kind}, which cannot be stacked")
    if v.dtype is None:
        ctx.fail(f"scan output {out_name!r} has no known dtype")
    tail = tuple(d if isinstance(d, int) else None for d in v.shape) if v.shape is not None else ()
    return ctx.call("stack_parts", parts, DType(dtype_name(v.dtype)), tail)


@lowering("Loop")
def loop(ctx: LowerCtx):
    body = _subgraph(ctx, "body")
    n_formal = len(ctx.node.formal_inputs)
    k = n_formal - 2  # loop-carried values
    if k < 0:
        ctx.fail("Loop takes a trip count and a condition (either may be empty)")
    _own_inputs(ctx, body, 2 + k)
    n_scan = len(body.outputs) - 1 - k
    if n_scan < 0 or len(ctx.node.outputs) > k + n_scan:
        ctx.fail(f"the body yields {len(body.outputs)} values for {k} carried values")
    trip = ctx.input(0) if ctx.has_input(0) else None
    cond = ctx.input(1) if ctx.has_input(1) else None
    inits = [ctx.input(2 + j) for j in range(k)]
    caps = _captures(ctx)
    params = _params(ctx, body, 2 + k)
    bound = {name: Ref(p) for name, p in zip(body.inputs, params)} | _bind_captures(body, 2 + k, caps)
    block = lower_subgraph(ctx, body, bound, params)
    outs = ctx.control("loop", k + n_scan, trip, cond, *inits, blocks=(block,))
    scans = [_stacked(ctx, outs[k + j], body, body.outputs[1 + k + j]) for j in range(n_scan)]
    return (outs[:k] + scans)[: len(ctx.node.outputs)]


def _axis(ctx: LowerCtx, axis: int, rank: int | None, what: str) -> int:
    if axis < 0:
        if rank is None:
            ctx.fail(f"a negative {what} axis needs a known rank")
        axis += rank
    return axis


@lowering("Scan", since=9)
def scan(ctx: LowerCtx):
    body = _subgraph(ctx, "body")
    m = int(ctx.attr("num_scan_inputs"))
    n_formal = len(ctx.node.formal_inputs)
    n_state = n_formal - m
    if m < 1 or n_state < 0:
        ctx.fail(f"num_scan_inputs {m} does not fit {n_formal} inputs")
    _own_inputs(ctx, body, n_formal)
    n_scan_out = len(body.outputs) - n_state
    in_axes = list(ctx.attr("scan_input_axes") or [0] * m)
    in_dirs = list(ctx.attr("scan_input_directions") or [0] * m)
    out_axes = list(ctx.attr("scan_output_axes") or [0] * n_scan_out)
    out_dirs = list(ctx.attr("scan_output_directions") or [0] * n_scan_out)
    states = [ctx.input(j) for j in range(n_state)]
    xs = [ctx.input(n_state + j) for j in range(m)]
    axes = [_axis(ctx, a, len(ctx.shape(n_state + j)) if ctx.shape(n_state + j) else None, "scan input")
            for j, a in enumerate(in_axes)]  # fmt: skip
    caps = _captures(ctx)
    trip = ctx.dim(n_state, axes[0])
    params = (ctx.builder.names.new("scan_iter"), ctx.builder.names.new("scan_cond"))
    params += _params(ctx, body, n_state)
    last = (trip - 1 if isinstance(trip, int) else ctx.call("subtract", trip, 1)) if any(in_dirs) else None
    with ctx.collecting() as prelude:
        it = Ref(params[0])
        slices = []
        for x, axis, reverse in zip(xs, axes, in_dirs):
            index = ctx.call("subtract", last, it) if reverse else it
            slices.append(ctx.call("take", x, index, axis=axis))
    bound = {name: Ref(p) for name, p in zip(body.inputs[:n_state], params[2:])}
    bound |= dict(zip(body.inputs[n_state:n_formal], slices)) | _bind_captures(body, n_formal, caps)
    block = lower_subgraph(ctx, body, bound, params, prelude)
    block.results = (None, *block.results)
    outs = ctx.control("loop", n_state + n_scan_out, trip, None, *states, blocks=(block,))
    results = list(outs[:n_state])
    for j in range(n_scan_out):
        y = _stacked(ctx, outs[n_state + j], body, body.outputs[n_state + j])
        if out_dirs[j]:
            y = ctx.call("getitem", y, Slice(None, None, -1))
        rank = body.value(body.outputs[n_state + j]).shape
        axis = _axis(ctx, out_axes[j], None if rank is None else len(rank) + 1, "scan output")
        if axis:
            y = ctx.call("moveaxis", y, 0, axis)
        results.append(y)
    return results


@lowering("Scan", since=8)
def scan8(ctx: LowerCtx):
    """Scan-8: batched (axis 0) inputs scanned along axis 1: a loop over the batch around the scan loop."""
    body = _subgraph(ctx, "body")
    m = int(ctx.attr("num_scan_inputs"))
    n_formal = len(ctx.node.formal_inputs)
    n_state = n_formal - 1 - m
    if ctx.has_input(0):
        ctx.fail("Scan-8 with sequence_lens is not supported")
    if m < 1 or n_state < 0 or any(ctx.attr("directions") or []):
        ctx.fail("Scan-8 with reversed directions or no scan inputs is not supported")
    _own_inputs(ctx, body, n_state + m)
    n_scan_out = len(body.outputs) - n_state
    states = [ctx.input(1 + j) for j in range(n_state)]
    xs = [ctx.input(1 + n_state + j) for j in range(m)]
    caps = _captures(ctx)
    batch = ctx.dim(1 + n_state, 0)
    steps = ctx.dim(1 + n_state, 1)
    names = ctx.builder.names
    outer_params = (names.new("batch_iter"), names.new("batch_cond"))
    inner_params = (names.new("scan_iter"), names.new("scan_cond")) + _params(ctx, body, n_state)
    b = Ref(outer_params[0])
    with ctx.collecting() as outer_calls:
        per_batch_states = [ctx.call("take", s, b, axis=0) for s in states]
        per_batch_xs = [ctx.call("take", x, b, axis=0) for x in xs]
        with ctx.collecting() as prelude:
            slices = [ctx.call("take", x, Ref(inner_params[0]), axis=0) for x in per_batch_xs]
        bound = {name: Ref(p) for name, p in zip(body.inputs[:n_state], inner_params[2:])}
        bound |= dict(zip(body.inputs[n_state : n_state + m], slices))
        bound |= _bind_captures(body, n_state + m, caps)
        inner = lower_subgraph(ctx, body, bound, inner_params, prelude)
        inner.results = (None, *inner.results)
        inner_outs = ctx.control("loop", n_state + n_scan_out, steps, None, *per_batch_states, blocks=(inner,))
        scanned = [_stacked(ctx, inner_outs[n_state + j], body, body.outputs[n_state + j]) for j in range(n_scan_out)]
    outer = Block(outer_params, outer_calls, (None, *inner_outs[:n_state], *scanned))
    outs = ctx.control("loop", n_state + n_scan_out, batch, None, blocks=(outer,))
    results = []
    for j, name in enumerate(body.outputs):
        v = body.value(name)
        tail = () if v.shape is None else ((None, *v.shape) if j >= n_state else v.shape)  # scans gained a time axis
        results.append(ctx.call("stack_parts", outs[j], DType(dtype_name(v.dtype)), tail))
    return results


@lowering("SequenceMap", since=17)
def sequence_map(ctx: LowerCtx):
    """A loop over the first input sequence's elements; every output is a sequence (the list of parts)."""
    body = _subgraph(ctx, "body")
    n_formal = len(ctx.node.formal_inputs)
    _own_inputs(ctx, body, n_formal)
    inputs = [ctx.input(j) for j in range(n_formal)]
    kinds = [ctx.value(j).kind for j in range(n_formal)]
    caps = _captures(ctx)
    trip = ctx.call("seq_length", inputs[0])
    params = (ctx.builder.names.new("map_iter"), ctx.builder.names.new("map_cond"))
    with ctx.collecting() as prelude:
        elems = [ctx.call("seq_at", x, Ref(params[0])) if kind == "sequence" else x for x, kind in zip(inputs, kinds)]
    bound = dict(zip(body.inputs[:n_formal], elems)) | _bind_captures(body, n_formal, caps)
    block = lower_subgraph(ctx, body, bound, params, prelude)
    block.results = (None, *block.results)
    return ctx.control("loop", len(body.outputs), trip, None, blocks=(block,))
