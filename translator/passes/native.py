"""Hand the NHWC convs that opset.native's C++ kernels cover to them (strategy "native")."""

from __future__ import annotations

from ..ir import Graph
from ..lowering.ops.layout import native_kind
from .layout import NHWC_DOMAIN


def assign_native(graph: Graph) -> int:
    """Returns the number of convs marked; convs with a strategy already chosen keep it."""
    marked = 0
    for node in graph.topo_order():
        if node.domain != NHWC_DOMAIN or node.op_type != "Conv" or node.attrs.get("strategy"):
            continue
        w = graph.value(node.inputs[1]).const
        groups = int(node.attrs.get("group", 1))
        if w is not None and native_kind(w.shape, groups, node.attrs.get("dilations", [1, 1]), w.dtype):
            node.attrs["strategy"] = "native"
            marked += 1
    return marked


def assign_native_ops(graph: Graph) -> int:
    """Mark the non-conv ops opset.native has kernels for: Sigmoid and Softmax (MLX's CPU ones are
    scalar code), and the layout pass's NHWC MaxPool and nearest Upsample (MLX runs them on one thread).

    Each lowering uses the kernel where it applies (float32; Softmax over the last axis; a 2-D max pool
    without dilation, indices or SAME padding whose windows all reach into the input) and MLX's ops elsewhere.
    """
    marked = 0
    for node in graph.nodes:
        if (not node.domain and node.op_type in ("Sigmoid", "Softmax")) or (
            node.domain == NHWC_DOMAIN and node.op_type in ("MaxPool", "Upsample")
        ):
            node.attrs["native"] = True
            marked += 1
    return marked
