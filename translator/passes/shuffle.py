"""Recognize ShuffleNet's channel shuffle: Reshape (N, g, C/g, H, W) -> Transpose (0, 2, 1, 3, 4) -> Reshape (N, C, H, W).

The three become one `ChannelShuffle` node (domain `mlx.internal`, attrs axis and groups). As a
single op on one axis the layout pass can carry it into channels-last (the axis moves with the
transpose); spelled out, its 5-D reshape split the channel axis and pinned YOLOv5n's ShuffleNet
blocks to NCHW, with four MLX copies around each shuffle.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from .absorb import read_once

INTERNAL_DOMAIN = "mlx.internal"
SHUFFLE = "ChannelShuffle"
INTERLEAVE = "Interleave"


def _only_consumer(graph: Graph, value: str, op_type: str) -> Node | None:
    if not read_once(graph, value):
        return None
    user = graph.consumers(value)[0]
    return None if user.domain or user.op_type != op_type else user


def _shuffle_at(graph: Graph, first: Node) -> tuple[Node, Node, int] | None:
    """(transpose, last reshape, groups) if `first` starts a channel shuffle of a static 4-D NCHW value."""
    if first.domain or first.op_type != "Reshape" or len(first.inputs) < 2:
        return None
    x = graph.value(first.inputs[0]).static_shape
    split = graph.value(first.outputs[0]).static_shape
    if x is None or len(x) != 4 or split is None or len(split) != 5:
        return None
    n, c, h, w = x
    groups = split[1]
    if split != (n, groups, c // max(groups, 1), h, w) or groups < 2 or c % groups:
        return None
    t = _only_consumer(graph, first.outputs[0], "Transpose")
    if t is None or list(t.attrs.get("perm", [])) != [0, 2, 1, 3, 4]:
        return None
    last = _only_consumer(graph, t.outputs[0], "Reshape")
    if last is None or graph.value(last.outputs[0]).static_shape != x:
        return None
    return t, last, int(groups)


def fold_channel_shuffles(graph: Graph) -> int:
    """Returns the number of shuffles recognized."""
    found = 0
    for node in graph.topo_order():
        if node.name not in graph.g:
            continue
        match = _shuffle_at(graph, node)
        if match is None:
            continue
        t, last, groups = match
        x, out = node.inputs[0], last.outputs[0]
        for n in (node, t, last):
            graph.remove_node(n)
        attrs = {"axis": 1, "groups": groups}
        graph.add_node(Node(graph.fresh_name(f"{node.name}_shuffle"), SHUFFLE, INTERNAL_DOMAIN, [x], [out], attrs))
        found += 1
    return found


def fuse_concat_shuffles(graph: Graph) -> int:
    """Concat of g equal parts along the channels, then a ChannelShuffle in g groups on the same axis, read
    by nothing else: one `Interleave` of the parts (opset.native.interleave), out channel j * g + k being
    part k's channel j. ShuffleNet's unit concatenates its two branches and shuffles them: two MLX copies
    on one thread, ~0.8 ms each time at 80x80x64, become one multi-threaded pass. Returns the count."""
    fused = 0
    for shuffle in graph.topo_order():
        if shuffle.name not in graph.g or shuffle.domain != INTERNAL_DOMAIN or shuffle.op_type != SHUFFLE:
            continue
        cat = graph.producer(shuffle.inputs[0])
        if cat is None or cat.domain or cat.op_type != "Concat" or len(graph.consumers(cat.outputs[0])) != 1:
            continue
        shape = graph.value(cat.outputs[0]).static_shape
        if shape is None or cat.outputs[0] in graph.outputs:
            continue
        axis = int(cat.attrs.get("axis", 0)) % len(shape)
        parts = [graph.value(p).static_shape for p in cat.inputs]
        groups = int(shuffle.attrs.get("groups", 0))
        if axis != len(shape) - 1 or int(shuffle.attrs.get("axis", -1)) % len(shape) != axis:
            continue
        if len(parts) != groups or any(p != parts[0] for p in parts) or graph.value(cat.inputs[0]).dtype != np.float32:
            continue
        inputs, out = list(cat.inputs), shuffle.outputs[0]
        graph.remove_node(shuffle)
        graph.remove_node(cat)
        graph.add_node(Node(graph.fresh_name(f"{cat.name}_interleave"), INTERLEAVE, INTERNAL_DOMAIN, inputs, [out]))
        fused += 1
    return fused
