"""Fuse a native 1x1 conv with the depthwise conv that alone reads its output (YuNet's block: 1x1, then 3x3).

The depthwise conv may already carry its own 1x1 conv (a `DepthwisePointwise` node from passes/dw_pw.py):
the chain becomes one `PointwiseDepthwise` node, lowered to opset.native.pw_dw_conv2d, which makes the first
1x1 conv's output a band of rows (with the depthwise halo) at a time in a per-thread buffer, so that map
(6.5 MB for YuNet's first block at 640x640) is never written and read back. Each conv keeps its bias and
activation; the last one its residual. MLX_UNIFACE_PW_DW=0 turns the pass off (an A/B switch).

Measured (tools/bench.py --ab MLX_UNIFACE_PW_DW=0,1, one process): YuNet 0.86x the time on one thread,
0.97x on two; YOLOv5n 1.00x and 1.04x (noise on this shared machine is about 5%). Fusing only maps larger
than 512 KB (smaller ones stay in the cache between two kernels) measured slower than fusing every one.
"""

from __future__ import annotations

import os

from ..ir import Graph, Node
from .dw_pw import FUSED as DW_PW
from .dw_pw import native_of_kind, plain_pointwise
from .layout import NHWC_DOMAIN

FUSED = "PointwiseDepthwise"


def _depthwise_reader(graph: Graph, node: Node) -> bool:
    """A native depthwise conv, or one fused with its 1x1 conv."""
    return (node.domain == NHWC_DOMAIN and node.op_type == DW_PW) or native_of_kind(graph, node, "depthwise")


def fuse_pointwise_depthwise(graph: Graph) -> int:
    """Returns the number of chains fused."""
    if os.environ.get("MLX_UNIFACE_PW_DW", "1") == "0":
        return 0
    fused = 0
    for pre in graph.topo_order():
        if pre.name not in graph.g or not plain_pointwise(graph, pre):
            continue
        if len(pre.inputs) > 3 and pre.inputs[3]:  # a residual of its own: only the chain's last conv adds one
            continue
        y = pre.outputs[0]
        users = graph.consumers(y)
        if len(users) != 1 or y in graph.outputs:
            continue
        dw = users[0]
        if not _depthwise_reader(graph, dw) or dw.inputs[0] != y or y in dw.inputs[1:]:
            continue
        pre_inputs = list(pre.inputs) + [""] * (3 - len(pre.inputs))
        if dw.op_type == DW_PW:  # x, w_dw, b_dw, w_pw, b_pw, [residual]
            rest = list(dw.inputs[1:]) + [""] * (6 - len(dw.inputs))
        else:  # x, w_dw, [b_dw], [residual]
            dw_inputs = list(dw.inputs) + [""] * (4 - len(dw.inputs))
            rest = [dw_inputs[1], dw_inputs[2], "", "", dw_inputs[3]]
        attrs = dict(dw.attrs)
        if pre.attrs.get("activation"):
            attrs["pre_activation"] = pre.attrs["activation"]
        graph.remove_node(dw)
        graph.remove_node(pre)
        inputs = [pre_inputs[0], pre_inputs[1], pre_inputs[2], *rest]
        while inputs and not inputs[-1]:
            inputs.pop()
        graph.add_node(
            Node(graph.fresh_name(f"{pre.name}_{dw.name}"), FUSED, NHWC_DOMAIN, inputs, list(dw.outputs), attrs)
        )
        fused += 1
    return fused
