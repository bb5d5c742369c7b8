"""A detection head's Reshape + Concat of channel slices as one native copy in row-major order.

RetinaFace's heads end with a conv whose output channels are split into boxes, scores and landmarks; each
slice is reshaped to (1, H*W*k, c) and the levels are concatenated along that middle axis.
MLX copies each strided slice on one thread to reshape it (two anchors' values per pixel fit no single
stride), then copies again to concatenate: ~0.5 ms of RetinaFace's 8-9 ms forward. When every axis before the Concat's is 1, the Concat is just the parts'
elements one after another, and a Reshape keeps the row-major order of its input, so the whole chain is
`native.flat_concat(slices, shape)`: one pass on the pool's threads that reads the slices in place.

Only a float32 Concat of static shape whose axes before the concatenated one are all 1; it takes its parts
from before any Reshapes that only it reads. A Reshape on its own is left to MLX (a view of the slice where
its strides allow): a flat copy of each single slice measured slower (YuNet's twelve outputs: 1.02-1.04x
the time, while strided outputs were still handed out as views).

MLX_UNIFACE_FLAT_CONCAT=0 turns the pass off (an A/B switch).
"""

from __future__ import annotations

import os

import numpy as np

from ..ir import Graph, Node
from .absorb import read_once
from .shuffle import INTERNAL_DOMAIN

FLAT_CONCAT = "FlatConcat"  # mlx.internal, attrs: shape (static); lowering: native.flat_concat


def _float32_static(graph: Graph, value: str) -> tuple[int, ...] | None:
    v = graph.value(value)
    if v.dtype is None or np.dtype(v.dtype) != np.float32:
        return None
    return v.static_shape


def _row_major_source(graph: Graph, value: str) -> str:
    """The value whose elements, in row-major order, are `value`'s: back through Reshapes nobody else reads."""
    while True:
        node = graph.producer(value)
        if node is None or node.domain or node.op_type != "Reshape" or not read_once(graph, value):
            return value
        if _float32_static(graph, node.inputs[0]) is None:
            return value
        value = node.inputs[0]


def _replace(graph: Graph, node: Node, parts: list[str], shape: tuple[int, ...]) -> None:
    graph.remove_node(node)
    graph.add_node(Node(node.name, FLAT_CONCAT, INTERNAL_DOMAIN, parts, list(node.outputs), {"shape": list(shape)}))


def native_flat_concats(graph: Graph) -> int:
    """Returns the number of Concats made flat copies (the Reshapes they bypass are left for dead-code
    elimination)."""
    if os.environ.get("MLX_UNIFACE_FLAT_CONCAT", "1") == "0":
        return 0
    made = 0
    for node in graph.topo_order():
        if node.domain or node.op_type != "Concat" or len(node.outputs) != 1 or not all(node.inputs):
            continue
        shape = _float32_static(graph, node.outputs[0])
        if shape is None or not shape or any(_float32_static(graph, i) is None for i in node.inputs):
            continue
        if any(d != 1 for d in shape[: int(node.attrs.get("axis", 0)) % len(shape)]):
            continue
        _replace(graph, node, [_row_major_source(graph, i) for i in node.inputs], shape)
        made += 1
    return made
