"""Hand the NHWC convs that opset.native's C++ kernels cover to them (strategy "native")."""

from __future__ import annotations

import os

import numpy as np

from ..ir import Graph, Node
from ..lowering.ops.layout import native_kind
from .layout import NHWC_DOMAIN
from .shuffle import INTERNAL_DOMAIN

CHANNEL_CONCAT = "ChannelConcat"  # mlx.internal: a Concat along the last axis (native.concat)
CHANNEL_SPLIT = "ChannelSplit"  # mlx.internal, attrs: widths; a Split along the last axis (native.split_channels)


def assign_native(graph: Graph) -> int:
    """Returns the number of convs marked; convs with a strategy already chosen keep it."""
    marked = 0
    for node in graph.topo_order():
        if node.domain != NHWC_DOMAIN or node.op_type != "Conv" or node.attrs.get("strategy"):
            continue
        w = graph.value(node.inputs[1]).const
        groups = int(node.attrs.get("group", 1))
        dil, strides = node.attrs.get("dilations", [1, 1]), node.attrs.get("strides", [1, 1])
        pads = (
            node.attrs.get("pads", [0, 0, 0, 0]) if node.attrs.get("auto_pad", "NOTSET") in ("NOTSET", None) else None
        )
        if w is not None and native_kind(w.shape, groups, dil, w.dtype, strides, pads):
            node.attrs["strategy"] = "native"
            marked += 1
    return marked


def _attr_str(v) -> str | None:
    return v.decode() if isinstance(v, bytes) else v


def assign_native_ops(graph: Graph) -> int:
    """Mark the non-conv ops opset.native has kernels for: Sigmoid and Softmax (MLX's CPU ones are
    scalar code), InstanceNormalization (five single-threaded MLX passes), linear/cubic Resize axes (MLX's
    `take` is scalar; a dense matrix wastes multiply-adds), and the layout pass's NHWC MaxPool and nearest
    Upsample (MLX runs them on one thread).

    Each lowering uses the kernel where it applies (float32; Softmax over the last axis; a 2-D max pool
    without dilation, indices or SAME padding whose windows all reach into the input) and MLX's ops elsewhere.
    """
    marked = 0
    for node in graph.nodes:
        if (
            (not node.domain and node.op_type in ("Sigmoid", "Softmax", "InstanceNormalization"))
            or (
                not node.domain
                and node.op_type == "Resize"
                and _attr_str(node.attrs.get("mode")) in ("linear", "cubic")
            )
            or (node.domain == NHWC_DOMAIN and node.op_type in ("MaxPool", "Upsample", "InstanceNormalization"))
        ):
            node.attrs["native"] = True
            marked += 1
    return marked


def native_channel_concats(graph: Graph) -> int:
    """Concats along the last axis of float32 values of known rank -> `ChannelConcat` (native.concat): NHWC
    channel concats (YOLOv5n's neck, the FPNs) copied on the pool's threads, channel slices read in place;
    MLX's concatenate copies on one thread. Run after the passes that look for Concat (convs over a
    concat, concat + shuffle), which remove the concats they take."""
    replaced = 0
    for node in graph.topo_order():
        if node.domain or node.op_type != "Concat" or len(node.outputs) != 1:
            continue
        inputs = [i for i in node.inputs if i]
        values = [graph.value(i) for i in inputs]
        if len(inputs) < 2 or any(v.dtype is None or np.dtype(v.dtype) != np.float32 for v in values):
            continue
        shape = graph.value(node.outputs[0]).shape
        if shape is None or len(shape) < 2 or any(v.shape is None or len(v.shape) != len(shape) for v in values):
            continue
        if int(node.attrs.get("axis", 0)) % len(shape) != len(shape) - 1:
            continue
        graph.remove_node(node)
        graph.add_node(Node(node.name, CHANNEL_CONCAT, INTERNAL_DOMAIN, inputs, list(node.outputs)))
        replaced += 1
    return replaced


def native_channel_splits(graph: Graph) -> int:
    """Splits along the last axis of a static float32 map whose every part only Reshapes read -> `ChannelSplit`
    (native.split_channels): SCRFD's merged head convs (passes/siblings.py) split into scores, boxes and
    landmarks, each reshaped to (-1, k), which needs it contiguous: MLX copied each strided slice on one thread
    (nine copies, ~0.2 ms a forward), the native split writes all of a level's parts in one pass. MLX_UNIFACE_SPLIT=0
    leaves them to MLX (an A/B switch)."""
    if os.environ.get("MLX_UNIFACE_SPLIT", "1") == "0":
        return 0
    replaced = 0
    for node in graph.topo_order():
        if node.domain or node.op_type != "Split" or not node.inputs or len(node.outputs) < 2:
            continue
        x = graph.value(node.inputs[0])
        shape = x.static_shape
        if shape is None or len(shape) < 2 or x.dtype is None or np.dtype(x.dtype) != np.float32:
            continue
        if int(node.attrs.get("axis", 0)) % len(shape) != len(shape) - 1:
            continue
        widths = [graph.value(o).static_shape for o in node.outputs]
        if (
            any(w is None or len(w) != len(shape) or w[-1] < 1 for w in widths)
            or sum(w[-1] for w in widths) != shape[-1]
        ):
            continue
        readers = [graph.consumers(o) for o in node.outputs]
        if any(o in graph.outputs or not r or any(c.domain or c.op_type != "Reshape" for c in r)
               for o, r in zip(node.outputs, readers)):  # fmt: skip
            continue
        graph.remove_node(node)
        graph.add_node(Node(node.name, CHANNEL_SPLIT, INTERNAL_DOMAIN, [node.inputs[0]], list(node.outputs),
                            {"widths": [int(w[-1]) for w in widths]}))  # fmt: skip
        replaced += 1
    return replaced
