"""A stem whose map two readers share, its max pool and a 1x1 conv, as one native call (YOLOv5n's StemBlock).

YOLOv5n starts with a 3x3 stride-2 stem (3 -> 16 channels, SiLU) whose 320x320x16 map (6.5 MB at 640x640) is
read twice: by a 2x2 stride-2 max pool and by a 1x1 conv (16 -> 8, SiLU) that starts the other branch. The
stem wrote the map and the two readers read it back: ~20 MB of memory traffic, the stem region's largest
cost. `native.stem_split` makes the stem's rows a band at a time in a per-thread buffer and writes only the
pool's and the 1x1 conv's outputs (1.6 and 3.3 MB); the stem's map never leaves the cache.

Only a native stem (a dense conv on 1-4 channels, floats or the 8-bit image: passes/pw_dw.py's `stem`)
without a residual or PRelu, whose output is no graph output and has exactly two readers: a 2x2 stride-2
max pool and a plain 1x1 conv (no residual, no PRelu), each reading it once; its height and width even.
MLX_UNIFACE_STEM_SPLIT=0 turns the pass off (an A/B switch).
"""

from __future__ import annotations

import os

from ..ir import Graph, Node
from .conv_pool import _pool2
from .dw_pw import plain_pointwise
from .image_input import OFFSET
from .layout import NHWC_DOMAIN
from .pw_dw import stem

FUSED = "StemSplit"  # mlx.nhwc; inputs: x, w, [bias], w_mid, [bias_mid]; outputs: the pool's, the 1x1 conv's


def _no_prelu_or_residual(node: Node) -> bool:
    act = node.attrs.get("activation")
    return not (act and act[0] == "PRelu") and not (len(node.inputs) > 3 and node.inputs[3])


def _readers(graph: Graph, node: Node) -> tuple[Node, Node] | None:
    """(the max pool, the 1x1 conv) reading node's output, if those two alone read it, once each."""
    y = node.outputs[0]
    users = graph.consumers(y)
    if len(users) != 2 or y in graph.outputs or any(u.inputs.count(y) != 1 or u.inputs[0] != y for u in users):
        return None
    pools = [u for u in users if _pool2(u)]
    convs = [u for u in users if plain_pointwise(graph, u) and _no_prelu_or_residual(u)]
    if len(pools) != 1 or len(convs) != 1:
        return None
    return pools[0], convs[0]


def fuse_stem_splits(graph: Graph) -> int:
    """Returns the number of stems fused with their two readers."""
    if os.environ.get("MLX_UNIFACE_STEM_SPLIT", "1") == "0":
        return 0
    fused = 0
    for node in graph.topo_order():
        if node.name not in graph.g or not stem(graph, node) or not _no_prelu_or_residual(node):
            continue
        found = _readers(graph, node)
        shape = graph.value(node.outputs[0]).static_shape
        if found is None or shape is None or shape[1] % 2 or shape[2] % 2 or min(shape[1:3]) < 2:
            continue
        pool, conv = found
        attrs = {k: v for k, v in node.attrs.items() if k in ("strides", "pads", "auto_pad", "activation", OFFSET)}
        if conv.attrs.get("activation"):
            attrs["mid_activation"] = conv.attrs["activation"]
        stem_inputs = (list(node.inputs) + ["", ""])[:3]
        mid_inputs = (list(conv.inputs) + ["", ""])[1:3]
        inputs = [*stem_inputs, *mid_inputs]
        while not inputs[-1]:
            inputs.pop()
        for n in (pool, conv, node):
            graph.remove_node(n)
        outputs = [pool.outputs[0], conv.outputs[0]]
        graph.add_node(Node(graph.fresh_name(f"{node.name}_split"), FUSED, NHWC_DOMAIN, inputs, outputs, attrs))
        fused += 1
    return fused
