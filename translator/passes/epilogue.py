"""Fold the elementwise tail of an NHWC conv into it: a residual Add (native convs) and an activation.

conv -> Add(other) -> activation becomes one conv node with `other` as a fourth
input and attrs["activation"]; the native kernels apply both before the store.
"""

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


def _absorb(graph: Graph, conv: Node, tail: Node) -> None:
    """Remove `tail` (the conv's only consumer) and give its output to the conv."""
    y = conv.outputs[0]
    dtype = graph.value(y).dtype
    graph.remove_node(tail)
    graph.rename_output(conv, y, tail.outputs[0])
    graph.values[tail.outputs[0]].shape = graph.values[y].shape
    if graph.values[tail.outputs[0]].dtype is None:
        graph.values[tail.outputs[0]].dtype = dtype


def _fuse_residual(graph: Graph, conv: Node) -> bool:
    """conv -> Add(y, other) with `other` of the output's exact shape: `other` becomes input 3."""
    y = conv.outputs[0]
    users = graph.consumers(y)
    if len(users) != 1 or y in graph.outputs or len(conv.inputs) > 3:
        return False
    add = users[0]
    if add.domain or add.op_type != "Add" or len(add.inputs) != 2 or add.inputs.count(y) != 1:
        return False
    other = add.inputs[1] if add.inputs[0] == y else add.inputs[0]
    out_shape, other_value = graph.value(y).static_shape, graph.value(other)
    if out_shape is None or other_value.static_shape != out_shape or other_value.dtype != graph.value(y).dtype:
        return False
    inputs = list(conv.inputs) + [""] * (3 - len(conv.inputs))
    _absorb(graph, conv, add)
    graph.set_inputs(conv, inputs + [other])
    return True


def _fuse_silu(graph: Graph, conv: Node) -> bool:
    """y -> Sigmoid(y) -> Mul(y, sigmoid): YOLO's SiLU, two consumers of y folded into one activation."""
    y = conv.outputs[0]
    users = graph.consumers(y)
    if len(users) != 2 or y in graph.outputs:
        return False
    sig = next((u for u in users if not u.domain and u.op_type == "Sigmoid"), None)
    mul = next((u for u in users if not u.domain and u.op_type == "Mul"), None)
    if sig is None or mul is None or sig.outputs[0] in graph.outputs:
        return False
    if sorted(mul.inputs) != sorted([y, sig.outputs[0]]) or len(graph.consumers(sig.outputs[0])) != 1:
        return False
    graph.remove_node(sig)
    _absorb(graph, conv, mul)
    conv.attrs = dict(conv.attrs, activation=["Silu"])
    return True


def fuse_epilogues(graph: Graph, residuals: bool = False) -> int:
    """Returns the number of tails (residual Adds and activations) folded into convs.

    residuals=True folds Adds into convs with the native strategy (the only
    lowering where that saves a pass over memory).
    """
    fused = 0
    for conv in graph.topo_order():
        if conv.domain != NHWC_DOMAIN or conv.op_type != "Conv" or conv.attrs.get("activation"):
            continue
        if residuals and conv.attrs.get("strategy") == "native" and _fuse_residual(graph, conv):
            fused += 1
        if _fuse_silu(graph, conv):
            fused += 1
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
        _absorb(graph, conv, act)
        conv.attrs = dict(conv.attrs, activation=spec)
        fused += 1
    return fused
