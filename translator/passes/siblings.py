"""Merge sibling convs: NHWC convs reading the same input with the same geometry become one.

Detection heads read one feature map with two or three small convs (SCRFD:
3x3 with 2, 8 and 20 output channels; RetinaFace: 1x1 with 4, 8 and 20). Each
walks the whole input for a handful of channels, and a handful of channels
fills a fraction of a SIMD register. One conv over the concatenated weights,
then a Split along the channel axis (views), does the same work once, with full
vectors. The pass runs after the epilogue pass, so siblings merge only when
they also apply the same activation (YOLO's paired SiLU convs do), and never
with a residual of their own. Only narrow convs (fewer than 32 output channels,
the widest GEMM panel) merge: wider ones already fill their vectors, and their
outputs, now strided views, would cost the next conv a copy.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, Value
from .layout import NHWC_DOMAIN

NARROW = 32  # output channels of the native GEMM's widest panel (AVX-512: two 16-lane vectors)


def _mergeable(graph: Graph, conv: Node) -> bool:
    if conv.domain != NHWC_DOMAIN or conv.op_type != "Conv":
        return False
    if int(conv.attrs.get("group", 1)) != 1 or len(conv.outputs) != 1 or len(conv.inputs) > 3:
        return False
    w = graph.value(conv.inputs[1]).const
    if w is None or w.ndim != 4 or w.shape[0] >= NARROW:
        return False
    if len(conv.inputs) == 3 and conv.inputs[2] and graph.value(conv.inputs[2]).const is None:
        return False
    shape = graph.value(conv.outputs[0]).shape
    return shape is not None and len(shape) == 4


def _source(graph: Graph, name: str) -> tuple:
    """The input, seen through a Transpose: the layout pass gives each conv of a graph input its own."""
    prod = graph.producer(name)
    if prod is not None and prod.op_type == "Transpose" and not prod.domain:
        return (prod.inputs[0], repr(prod.attrs.get("perm")))
    return (name,)


def _key(graph: Graph, conv: Node) -> tuple:
    w = graph.value(conv.inputs[1]).const
    # geometry, strategy and fused activation (with its parameters) must all agree
    attrs = repr(sorted(conv.attrs.items()))
    return (_source(graph, conv.inputs[0]), w.shape[1:], w.dtype.str, attrs)


def _bias(graph: Graph, conv: Node, channels: int, dtype) -> np.ndarray:
    if len(conv.inputs) == 3 and conv.inputs[2]:
        return np.asarray(graph.value(conv.inputs[2]).const, dtype).reshape(-1)
    return np.zeros(channels, dtype)


def _merge(graph: Graph, group: list[Node]) -> None:
    first = group[0]
    weights = [graph.value(c.inputs[1]).const for c in group]
    sizes = [int(w.shape[0]) for w in weights]
    dtype = weights[0].dtype
    w = np.concatenate(weights, axis=0)
    b = np.concatenate([_bias(graph, c, n, dtype) for c, n in zip(group, sizes)])
    base = graph.fresh_name(f"{first.name}_merged")
    w_name, b_name, y = (graph.fresh_name(f"{base}_{part}") for part in ("w", "b", "out"))
    graph.add_value(Value(w_name, w.dtype, w.shape, w))
    graph.add_value(Value(b_name, b.dtype, b.shape, b))
    out = graph.value(first.outputs[0])
    graph.add_value(Value(y, out.dtype, tuple(out.shape[:3]) + (sum(sizes),)))
    outputs = [c.outputs[0] for c in group]
    for c in group:
        graph.remove_node(c)
    graph.add_node(Node(base, "Conv", NHWC_DOMAIN, [first.inputs[0], w_name, b_name], [y], dict(first.attrs)))
    split_inputs, attrs = [y], {"axis": 3}
    if graph.opset() >= 13:
        s_name = graph.fresh_name(f"{base}_sizes")
        graph.add_value(Value(s_name, np.dtype(np.int64), (len(sizes),), np.asarray(sizes, np.int64)))
        split_inputs.append(s_name)
    else:
        attrs["split"] = sizes
    graph.add_node(Node(graph.fresh_name(f"{base}_split"), "Split", "", split_inputs, outputs, attrs))


def merge_sibling_convs(graph: Graph) -> int:
    """Returns the number of convs merged away (a group of k becomes one: k - 1)."""
    groups: dict[tuple, list[Node]] = {}
    for node in graph.topo_order():
        if _mergeable(graph, node):
            groups.setdefault(_key(graph, node), []).append(node)
    merged = 0
    for group in groups.values():
        if len(group) > 1:
            _merge(graph, group)
            merged += len(group) - 1
    return merged
