"""A grouped NHWC conv (1 < groups, not depthwise) -> Split -> one dense conv per group -> Concat.

MLX's CPU conv_general runs grouped convs as a scalar loop (FaceAttribNet's
8-channel groups: 140 of its 149 ms). Split along the channels, each group is a
dense conv the native kernels (or MLX's dense conv) cover; the later passes
treat the parts like any other conv: the native pass takes them, an activation
after the Concat moves into every part (passes/epilogue.py), and the Concat
becomes a native channel concat.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, Value
from ..lowering.ops.layout import native_kind
from .layout import NHWC_DOMAIN


def _groups(graph: Graph, conv: Node) -> int | None:
    """The conv's group count if the rewrite applies to it, else None."""
    if conv.domain != NHWC_DOMAIN or conv.op_type != "Conv" or conv.attrs.get("strategy"):
        return None
    if len(conv.inputs) > 3 or len(conv.outputs) != 1 or conv.attrs.get("activation"):
        return None
    groups = int(conv.attrs.get("group", 1))
    w = graph.value(conv.inputs[1]).const
    if groups <= 1 or w is None or w.ndim != 4:
        return None
    o, _, _, ipg = w.shape
    if (groups == o and ipg == 1) or o % groups:  # depthwise convs have their own kernels
        return None
    if len(conv.inputs) > 2 and conv.inputs[2] and graph.value(conv.inputs[2]).const is None:
        return None
    x, y = graph.value(conv.inputs[0]), graph.value(conv.outputs[0])
    if x.shape is None or len(x.shape) != 4 or x.shape[3] != groups * ipg or y.shape is None or len(y.shape) != 4:
        return None
    if native_kind((o // groups, *w.shape[1:]), 1, conv.attrs.get("dilations", [1, 1]), w.dtype) is None:
        return None  # the parts would run on MLX's dense conv: keep the one node
    return groups


def _split(graph: Graph, conv: Node, groups: int) -> None:
    w = graph.value(conv.inputs[1]).const  # OHWI
    bias = graph.value(conv.inputs[2]).const if len(conv.inputs) > 2 and conv.inputs[2] else None
    x_value, y_value = graph.value(conv.inputs[0]), graph.value(conv.outputs[0])
    opg, ipg = w.shape[0] // groups, w.shape[3]
    graph.remove_node(conv)
    xs = [graph.fresh_name(f"{conv.name}_x{g}") for g in range(groups)]
    ys = [graph.fresh_name(f"{conv.name}_y{g}") for g in range(groups)]
    for g in range(groups):
        graph.add_value(Value(xs[g], x_value.dtype, (*x_value.shape[:3], ipg)))
        graph.add_value(Value(ys[g], y_value.dtype, (*y_value.shape[:3], opg)))
    graph.add_node(Node(graph.fresh_name(f"{conv.name}_split"), "Split", "", [conv.inputs[0]], xs, {"axis": 3}))
    attrs = {k: v for k, v in conv.attrs.items() if k != "group"}
    for g in range(groups):
        part = slice(g * opg, (g + 1) * opg)
        w_name = graph.fresh_name(f"{conv.name}_w{g}")
        graph.add_value(Value(w_name, w.dtype, (opg, *w.shape[1:]), np.ascontiguousarray(w[part])))
        inputs = [xs[g], w_name]
        if bias is not None:
            b_name = graph.fresh_name(f"{conv.name}_b{g}")
            graph.add_value(Value(b_name, bias.dtype, (opg,), np.ascontiguousarray(bias[part])))
            inputs.append(b_name)
        graph.add_node(Node(graph.fresh_name(f"{conv.name}_g{g}"), "Conv", NHWC_DOMAIN, inputs, [ys[g]], dict(attrs)))
    graph.add_node(Node(graph.fresh_name(f"{conv.name}_concat"), "Concat", "", ys, list(conv.outputs), {"axis": 3}))


def split_grouped_convs(graph: Graph) -> int:
    """Returns the number of grouped convs split into per-group convs."""
    done = 0
    for conv in graph.topo_order():
        groups = _groups(graph, conv)
        if groups is not None:
            _split(graph, conv, groups)
            done += 1
    return done
