"""Constant folding: evaluate nodes whose inputs are all known, with their own lowering."""

from __future__ import annotations

from opset.execute import run_calls, to_mx, to_numpy
from opset.program import Ref

import mlx.core as mx
import numpy as np

from ..errors import TranslatorError
from ..ir import Graph, Node
from ..lowering.lower import ProgramBuilder, lower_node
from ..lowering.registry import find_lowering

# Ops whose result is not a function of their inputs.
NONDETERMINISTIC = {
    "RandomNormal",
    "RandomNormalLike",
    "RandomUniform",
    "RandomUniformLike",
    "Multinomial",
    "Bernoulli",
}
# Ops foldable from static input shapes alone.
SHAPE_ONLY = {"Shape", "Size"}
# Never materialize folded constants larger than this many elements.
MAX_FOLDED_ELEMENTS = 1 << 22


def _foldable(graph: Graph, node: Node) -> bool:
    if node.domain or node.op_type in NONDETERMINISTIC or node.op_type in ("Identity", "Dropout"):
        return False
    if find_lowering(node.op_type, node.domain, graph.opset(node.domain)) is None:
        return False
    if node.op_type in SHAPE_ONLY and node.inputs and graph.value(node.inputs[0]).static_shape is not None:
        return True
    if node.subgraphs or any(a for a in node.attrs.values() if hasattr(a, "node")):  # subgraph attributes
        return False
    return all(graph.value(i).const is not None for i in node.inputs if i)


def fold_node(graph: Graph, node: Node) -> list[np.ndarray] | None:
    """The node's outputs as numpy arrays, or None if it cannot be evaluated here."""
    builder = ProgramBuilder(graph)
    env: dict[str, mx.array] = {}
    if node.op_type not in SHAPE_ONLY:
        for name in node.inputs:
            if name and name not in builder.env:
                ident = builder.names.new(name)
                builder.env[name] = Ref(ident)
                env[ident] = to_mx(graph.value(name).const)
    try:
        calls = lower_node(builder, node)
        env.update({k: to_mx(w) for k, w in builder.weights.items()})
        run_calls(calls, env)
        outs = []
        for name in node.outputs:
            if not name:
                outs.append(None)
                continue
            arr = env[builder.env[name].name] if builder.env[name].name in env else None
            if not isinstance(arr, mx.array):  # not computed, or a sequence/optional (not a constant tensor)
                return None
            if arr.size > MAX_FOLDED_ELEMENTS:
                return None
            outs.append(to_numpy(arr, graph.value(name).dtype))
        return outs
    except (TranslatorError, ValueError, TypeError, RuntimeError, KeyError):
        return None


def fold_constants(graph: Graph) -> int:
    """Replace foldable nodes by constant values. Returns the count folded."""
    folded = 0
    for node in graph.topo_order():
        if not _foldable(graph, node):
            continue
        results = fold_node(graph, node)
        if results is None:
            continue
        for name, arr in zip(node.outputs, results):
            if name and arr is not None:
                v = graph.value(name)
                declared = v.dtype
                if declared is not None and arr.dtype != declared:
                    arr = arr.astype(declared)
                v.const, v.dtype, v.shape = arr, arr.dtype, tuple(arr.shape)
        graph.remove_node(node)
        folded += 1
    return folded
