"""A native conv over a channel Concat becomes a chain of convs over its parts, summed through residuals.

conv(Concat(a, b, c), W) == conv(a, W_a) + conv(b, W_b) + conv(c, W_c), with W
split along its input channels. RetinaFace's SSH modules concatenate three
branches only to feed them to the heads; MLX's Concat copies the whole map on
one thread, while each native conv adds its predecessor's output in its
epilogue: y1 = conv(a, W_a) + bias, y2 = conv(b, W_b) + y1, y3 =
act(conv(c, W_c) + y2). The map is never assembled.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, Value
from .layout import NHWC_DOMAIN


def _parts(graph: Graph, conv: Node) -> list[tuple[str, int]] | None:
    """(input, channels) of the Concat this conv alone reads, or None if the rewrite does not apply."""
    if conv.domain != NHWC_DOMAIN or conv.op_type != "Conv" or conv.attrs.get("strategy") != "native":
        return None
    if int(conv.attrs.get("group", 1)) != 1 or len(conv.inputs) > 3:
        return None
    x = conv.inputs[0]
    cat = graph.producer(x)
    if cat is None or cat.domain or cat.op_type != "Concat" or x in graph.outputs or len(graph.consumers(x)) != 1:
        return None
    if cat.attrs.get("axis", 0) not in (3, -1) or len(cat.inputs) < 2 or not all(cat.inputs):
        return None
    parts = []
    for name in cat.inputs:
        shape = graph.value(name).static_shape
        if shape is None or len(shape) != 4 or graph.value(name).const is not None:
            return None
        parts.append((name, shape[3]))
    w = graph.value(conv.inputs[1]).const
    if w is None or sum(c for _, c in parts) != w.shape[3]:
        return None
    return parts


def _split(graph: Graph, conv: Node, parts: list[tuple[str, int]]) -> None:
    w = graph.value(conv.inputs[1]).const  # OHWI
    bias = conv.inputs[2] if len(conv.inputs) > 2 else ""
    out = conv.outputs[0]
    out_value = graph.value(out)
    graph.remove_node(conv)
    cat = graph.producer(conv.inputs[0])
    graph.remove_node(cat)
    start, previous = 0, ""
    base_attrs = {k: v for k, v in conv.attrs.items() if k not in ("activation", "residual_after")}
    for i, (name, channels) in enumerate(parts):
        last = i == len(parts) - 1
        w_part = np.ascontiguousarray(w[..., start : start + channels])
        start += channels
        w_name = graph.fresh_name(f"{conv.name}_w{i}")
        graph.add_value(Value(w_name, w_part.dtype, w_part.shape, w_part))
        y = out if last else graph.fresh_name(f"{conv.name}_part{i}")
        if not last:
            graph.add_value(Value(y, out_value.dtype, out_value.shape))
        attrs = dict(conv.attrs if last else base_attrs)  # each node its own dict (tune edits them in place)
        inputs = [name, w_name, bias if i == 0 else ""] + ([previous] if previous else [])
        graph.add_node(Node(graph.fresh_name(f"{conv.name}_part{i}"), "Conv", NHWC_DOMAIN, inputs, [y], attrs))
        previous = y


def split_concat_convs(graph: Graph) -> int:
    """Returns the number of Concats no longer assembled."""
    done = 0
    for conv in graph.topo_order():
        if conv.name not in graph.g:
            continue
        parts = _parts(graph, conv)
        if parts is not None:
            _split(graph, conv, parts)
            done += 1
    return done
