"""Fuse a native depthwise conv with the 1x1 conv that alone reads its output (MobileNet's block).

The pair becomes one `DepthwisePointwise` node, lowered to opset.native.dw_pw_conv2d: the depthwise
output is made a row at a time in a per-thread buffer and multiplied by the pointwise weights at once,
so the intermediate map (6.5 MB for SCRFD's first block at 640x640) is never written and read back.
The depthwise conv keeps its bias and activation; the pointwise one its bias, activation and residual.
"""

from __future__ import annotations

from ..ir import Graph, Node
from ..lowering.ops.layout import native_kind
from .layout import NHWC_DOMAIN

FUSED = "DepthwisePointwise"


def native_of_kind(graph: Graph, node: Node, kind: str) -> bool:
    """A native NHWC conv of this kind ("dense", "depthwise")."""
    if node.domain != NHWC_DOMAIN or node.op_type != "Conv" or node.attrs.get("strategy") != "native":
        return False
    w = graph.value(node.inputs[1]).const
    groups = int(node.attrs.get("group", 1))
    return w is not None and native_kind(w.shape, groups, node.attrs.get("dilations", [1, 1]), w.dtype) == kind


def plain_pointwise(graph: Graph, node: Node) -> bool:
    """A native 1x1 conv with stride 1 and no padding."""
    if not native_of_kind(graph, node, "dense"):
        return False
    return (
        graph.value(node.inputs[1]).const.shape[1:3] == (1, 1)
        and list(node.attrs.get("strides", [1, 1])) == [1, 1]
        and not any(node.attrs.get("pads", [0, 0, 0, 0]))
        and node.attrs.get("auto_pad", "NOTSET") in ("NOTSET", "VALID")
    )


def fuse_depthwise_pointwise(graph: Graph) -> int:
    """Returns the number of pairs fused."""
    fused = 0
    for dw in graph.topo_order():
        if dw.name not in graph.g or not native_of_kind(graph, dw, "depthwise"):
            continue
        if len(dw.inputs) > 3 and dw.inputs[3]:  # a residual of its own: the kernel adds one only at the end
            continue
        y = dw.outputs[0]
        users = graph.consumers(y)
        if len(users) != 1 or y in graph.outputs:
            continue
        pw = users[0]
        if not plain_pointwise(graph, pw) or pw.inputs[0] != y or y in pw.inputs[1:]:
            continue
        pw_inputs = list(pw.inputs) + [""] * (4 - len(pw.inputs))
        dw_inputs = list(dw.inputs) + [""] * (3 - len(dw.inputs))
        attrs = {k: v for k, v in dw.attrs.items() if k != "residual_after"}
        if pw.attrs.get("activation"):
            attrs["pointwise_activation"] = pw.attrs["activation"]
        if pw.attrs.get("residual_after"):
            attrs["residual_after"] = True
        out = pw.outputs[0]
        graph.remove_node(pw)
        graph.remove_node(dw)
        inputs = [dw_inputs[0], dw_inputs[1], dw_inputs[2], pw_inputs[1], pw_inputs[2]]
        if pw_inputs[3]:
            inputs.append(pw_inputs[3])
        graph.add_node(Node(graph.fresh_name(f"{dw.name}_{pw.name}"), FUSED, NHWC_DOMAIN, inputs, [out], attrs))
        fused += 1
    return fused
