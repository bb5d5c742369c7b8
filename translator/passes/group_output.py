"""A YOLO head's conv writes its output in the layout the graph returns: (N, anchors, H, W, values).

YOLOv5's Detect layer ends each level with a 1x1 conv of anchors x values channels, then
`view(N, anchors, values, H, W).permute(0, 1, 3, 4, 2)`. In NHWC the conv's output is (N, H, W,
anchors * values), and the Transpose to NCHW, the Reshape and the final Transpose compose into a strided
view of it: the caller's copy of three such outputs took ~0.3-0.5 ms of YOLOv5n's forward, on one thread.
When the values per anchor fill whole vectors (a multiple of 16), the native GEMM can store each output
vector straight into its anchor's plane (`native.conv2d(..., out_groups=anchors)`), and the output is
contiguous: handed to the caller without a copy.

MLX_UNIFACE_GROUP_OUTPUT=0 turns the pass off (an A/B switch).
"""

from __future__ import annotations

import os

from ..ir import Graph, Node
from .absorb import read_once
from .layout import NHWC_DOMAIN

GROUP_ALIGN = 16  # channels per group: a multiple of the widest kernel table's lanes (opset/native kOutGroupAlign)


def _only_reader(graph: Graph, value: str, op_type: str) -> Node | None:
    if not read_once(graph, value):
        return None
    (node,) = graph.consumers(value)
    return node if not node.domain and node.op_type == op_type else None


def _perm(node: Node) -> tuple[int, ...]:
    return tuple(int(p) for p in node.attrs.get("perm", ()))


def fuse_group_outputs(graph: Graph) -> int:
    """Returns the number of convs now writing (N, groups, H, W, C / groups)."""
    if os.environ.get("MLX_UNIFACE_GROUP_OUTPUT", "1") == "0":
        return 0
    fused = 0
    for conv in graph.topo_order():
        if conv.domain != NHWC_DOMAIN or conv.op_type != "Conv" or conv.attrs.get("strategy") != "native":
            continue
        if int(conv.attrs.get("group", 1)) != 1 or len(conv.inputs) > 3 or conv.attrs.get("pool"):
            continue
        if conv.attrs.get("image_offset") is not None or any(int(d) != 1 for d in conv.attrs.get("dilations", (1, 1))):
            continue  # the image conv and the phase-grid (dilated) path write NHWC only
        shape = graph.value(conv.outputs[0]).static_shape
        if shape is None or len(shape) != 4:
            continue
        n, h, w, c = shape
        to_nchw = _only_reader(graph, conv.outputs[0], "Transpose")
        if to_nchw is None or _perm(to_nchw) != (0, 3, 1, 2):
            continue
        reshape = _only_reader(graph, to_nchw.outputs[0], "Reshape")
        if reshape is None:
            continue
        split = graph.value(reshape.outputs[0]).static_shape
        if split is None or len(split) != 5 or (split[0], split[3], split[4]) != (n, h, w):
            continue
        groups, per = split[1], split[2]
        if groups < 2 or groups * per != c or per % GROUP_ALIGN:
            continue
        last = _only_reader(graph, reshape.outputs[0], "Transpose")
        if last is None or _perm(last) != (0, 1, 3, 4, 2):
            continue
        for node in (last, reshape, to_nchw, conv):
            graph.remove_node(node)
        graph.add_node(Node(conv.name, "Conv", NHWC_DOMAIN, list(conv.inputs), list(last.outputs),
                            {**conv.attrs, "out_groups": groups}))  # fmt: skip
        fused += 1
    return fused
