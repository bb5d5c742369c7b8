"""Graph -> Program: run each node's lowering once, in topological order."""

from __future__ import annotations

from typing import Any

from opset.execute import storage_array
from opset.functions import FUNCTIONS
from opset.program import Block, Call, Dim, Program, Ref, TensorSpec, reads, refs_in, walk_calls

import numpy as np

from ..errors import LoweringError, TranslatorError, UnsupportedOpError
from ..ir import Graph, Node
from .context import LowerCtx, dtype_name, is_inline
from .names import NameTable
from .registry import find_lowering


class ProgramBuilder:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.names = NameTable(taken=set(FUNCTIONS))
        self.env: dict[str, Ref] = {}
        self.weights: dict[str, np.ndarray] = {}
        self.calls: list[Call] = []
        self._temps = 0
        self.strategies: dict[str, int] = {}

    def note_strategy(self, name: str) -> None:
        self.strategies[name] = self.strategies.get(name, 0) + 1

    def temp(self) -> str:
        self._temps += 1
        return f"__t{self._temps}"

    def add_weight(self, arr: np.ndarray, hint: str) -> Ref:
        name = self.names.new(hint, prefix="w")
        self.weights[name] = np.require(storage_array(arr), requirements="C")  # keeps 0-d arrays 0-d
        return Ref(name)

    def ref_for(self, value_name: str, ctx: LowerCtx) -> Ref:
        ref = self.env.get(value_name)
        if ref is not None:
            return ref
        value = self.graph.value(value_name)
        if value.const is None:
            raise LoweringError(f"value {value_name!r} is read before it is computed")
        arr = storage_array(value.const)
        if is_inline(arr):
            # An inline literal: name it after the constant and keep it for reuse.
            ref = ctx.literal(arr, arr.dtype)
            final = self.names.new(value_name, prefix="c")
            ctx.calls[-1].outputs = (final,)
            ref = Ref(final)
        else:
            ref = self.add_weight(arr, value_name)
        self.env[value_name] = ref
        return ref


def _all_nodes(graph: Graph):
    for node in graph.nodes:
        yield graph, node
        for sub in node.subgraphs.values():
            yield from _all_nodes(sub)


def check_supported(graph: Graph, label: str = "model") -> None:
    """Raise one UnsupportedOpError listing every op without a lowering (subgraphs included)."""
    missing: dict[tuple[str, str, int], list[str]] = {}
    for owner, node in _all_nodes(graph):
        opset = owner.opset(node.domain)
        if find_lowering(node.op_type, node.domain, opset) is None:
            missing.setdefault((node.op_type, node.domain, opset), []).append(node.name)
    if missing:
        raise UnsupportedOpError(
            [(op, dom, opset, names) for (op, dom, opset), names in sorted(missing.items())], label
        )


def lower_node(builder: ProgramBuilder, node: Node) -> list[Call]:
    fn = find_lowering(node.op_type, node.domain, builder.graph.opset(node.domain))
    if fn is None:
        raise UnsupportedOpError([(node.op_type, node.domain, builder.graph.opset(node.domain), [node.name])])
    ctx = LowerCtx(builder, builder.graph, node)
    try:
        result = fn(ctx)
    except TranslatorError:
        raise
    except Exception as exc:  # a lowering bug must still name the node
        raise LoweringError(
            f"node {node.name!r} ({node.op_type}) failed to lower: {type(exc).__name__}: {exc}"
        ) from exc
    outs = [result] if isinstance(result, Ref) else list(result)
    renames: dict[str, str] = {}
    # Temporaries made here are renamed; one made by an enclosing op's lowering (bound as a block input) is not.
    created = {o for call in walk_calls(ctx.calls) for o in call.outputs}
    for onnx_name, ref in zip(node.outputs, outs):
        if not onnx_name or ref is None:
            continue
        if ref.name.startswith("__t") and ref.name in created and ref.name not in renames:
            renames[ref.name] = builder.names.new(onnx_name)
            ref = Ref(renames[ref.name])
        elif ref.name in renames:
            ref = Ref(renames[ref.name])
        builder.env[onnx_name] = ref
    for call in walk_calls(ctx.calls):  # name the remaining temporaries after what computes them
        for o in call.outputs:
            if o.startswith("__t") and o not in renames:
                renames[o] = builder.names.new(call.fn if call.fn != "getitem" else "item")
    return [_rename(c, renames) for c in ctx.calls]


def _rename(call: Call, renames: dict[str, str]) -> Call:
    if not renames:
        return call

    def sub(v):
        if isinstance(v, Ref):
            return Ref(renames.get(v.name, v.name))
        if isinstance(v, tuple):
            return tuple(sub(x) for x in v)
        if isinstance(v, list):
            return [sub(x) for x in v]
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        if isinstance(v, Dim):
            return Dim(renames.get(v.ref, v.ref), v.axis)
        return v

    blocks = tuple(
        Block(tuple(renames.get(p, p) for p in b.params), [_rename(c, renames) for c in b.calls], sub(b.results))
        for b in call.blocks
    )
    return Call(
        call.fn,
        sub(call.args),
        sub(call.kwargs),
        tuple(renames.get(o, o) for o in call.outputs),
        call.node,
        call.op,
        blocks,
    )


def lower_subgraph(
    ctx: LowerCtx, sub: Graph, bound: dict[str, Any], params: tuple[str, ...] = (), prelude: list[Call] = ()
) -> Block:
    """Lower a control-flow subgraph into a Block of the enclosing program.

    `bound` maps the subgraph's input names to Refs: outer values it captures, the block's `params`, or
    outputs of `prelude` (calls the op's lowering made for the block, e.g. Scan's per-iteration slices,
    which run first). Names, weights and temporaries are the enclosing program's.
    """
    outer = ctx.builder
    b = ProgramBuilder(sub)
    b.names, b.weights, b.temp, b.strategies = outer.names, outer.weights, outer.temp, outer.strategies
    b.env.update(bound)
    calls = list(prelude)
    for node in sub.topo_order():
        calls.extend(lower_node(b, node))
    results = []
    for name in sub.outputs:
        if name not in b.env:
            v = sub.value(name)
            if v.const is None:
                raise LoweringError(f"node {ctx.node.name!r}: subgraph {sub.name!r} never computes {name!r}")
            b.env[name] = b.add_weight(v.const, name)
        results.append(b.env[name])
    return Block(tuple(params), _drop_unused(calls, set(refs_in(results))), tuple(results))


def lower_graph(graph: Graph, label: str = "model") -> Program:
    check_supported(graph, label)
    b = ProgramBuilder(graph)
    inputs = []
    for name in graph.inputs:
        v = graph.value(name)
        ident = b.names.new(name, prefix="x")
        b.env[name] = Ref(ident)
        inputs.append(TensorSpec(ident, name, dtype_name(v.dtype) if v.dtype is not None else None, v.shape))
    for node in graph.topo_order():
        b.calls.extend(lower_node(b, node))
    outputs = []
    for name in graph.outputs:
        if name not in b.env:
            v = graph.value(name)
            if v.const is None:
                raise LoweringError(f"graph output {name!r} was never computed")
            b.env[name] = b.add_weight(v.const, name)
        v = graph.value(name)
        outputs.append(
            TensorSpec(b.env[name].name, name, dtype_name(v.dtype) if v.dtype is not None else None, v.shape)
        )
    calls = _drop_unused(b.calls, {o.name for o in outputs})
    used = {n for c in walk_calls(calls) for a in (c.args, c.kwargs) for n in refs_in(a)}
    used |= {n for c in walk_calls(calls) for b_ in c.blocks for n in refs_in(b_.results)}
    used |= {o.name for o in outputs}
    weights = {k: w for k, w in b.weights.items() if k in used}
    notes = {"conv_strategies": dict(sorted(b.strategies.items()))} if b.strategies else {}
    return Program(inputs, outputs, weights, calls, notes)


def _drop_unused(calls: list[Call], live: set[str]) -> list[Call]:
    live = set(live)
    kept: list[Call] = []
    for call in reversed(calls):
        if any(o in live for o in call.outputs):
            for block in call.blocks:  # a loop body's results are all read by its next iteration
                block.calls = _drop_unused(block.calls, set(refs_in(block.results)))
            kept.append(call)
            live.update(reads(call))
    kept.reverse()
    return kept
