"""Fold an activation into the NHWC conv before it (bias and activation in one lowered expression)."""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from .layout import NHWC_DOMAIN

ACTIVATIONS = ("Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSwish", "PRelu")


def _activation(graph: Graph, act: Node, channels: int) -> list | None:
    op = act.op_type
    if op == "Relu" or op == "Sigmoid" or op == "HardSwish":
        return [op]
    if op == "LeakyRelu":
        return [op, float(act.attrs.get("alpha", 0.01))]
    if op == "Clip":
        if graph.opset() < 11:
            return [op, float(act.attrs.get("min", -np.inf)), float(act.attrs.get("max", np.inf))]
        bounds = []
        for i, default in ((1, -np.inf), (2, np.inf)):
            if len(act.inputs) > i and act.inputs[i]:
                c = graph.value(act.inputs[i]).const
                if c is None or c.size != 1:
                    return None
                bounds.append(float(c.reshape(())))
            else:
                bounds.append(default)
        return [op, *bounds]
    if op == "PRelu":
        slope = graph.value(act.inputs[1]).const
        if slope is None or slope.size not in (1, channels):
            return None
        if slope.size == channels and slope.ndim >= 1 and slope.shape[-1] != channels:
            return None  # slope is laid out per channel along the last (NHWC) axis after the layout pass
        flat = np.broadcast_to(slope.reshape(-1), (channels,)).astype(np.float64)
        return [op, flat.tolist(), bool(np.all((flat >= 0) & (flat <= 1)))]
    return None


def fuse_epilogues(graph: Graph) -> int:
    """Returns the number of activations folded into convs."""
    fused = 0
    for conv in graph.topo_order():
        if conv.domain != NHWC_DOMAIN or conv.op_type != "Conv" or conv.attrs.get("activation"):
            continue
        y = conv.outputs[0]
        users = graph.consumers(y)
        if len(users) != 1 or y in graph.outputs:
            continue
        act = users[0]
        if (
            act.domain
            or act.op_type not in ACTIVATIONS
            or act.inputs[0] != y
            or len([o for o in act.outputs if o]) != 1
        ):
            continue
        channels = graph.value(conv.inputs[1]).const.shape[0]
        spec = _activation(graph, act, channels)
        if spec is None:
            continue
        dtype = graph.value(y).dtype
        graph.remove_node(act)
        graph.rename_output(conv, y, act.outputs[0])
        graph.values[act.outputs[0]].shape = graph.values[y].shape
        if graph.values[act.outputs[0]].dtype is None:
            graph.values[act.outputs[0]].dtype = dtype
        conv.attrs = dict(conv.attrs, activation=spec)
        fused += 1
    return fused
