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
        flat = _prelu_slopes(graph, act, channels)
        return None if flat is None else _prelu_spec(flat)
    return None


def _prelu_slopes(graph: Graph, act: Node, channels: int) -> np.ndarray | None:
    """The PRelu's slope per channel of the last (NHWC) axis, or None if it is not one per channel."""
    slope = graph.value(act.inputs[1]).const
    if slope is None or slope.size not in (1, channels):
        return None
    if slope.size == channels and slope.ndim >= 1 and slope.shape[-1] != channels:
        return None  # slope is laid out per channel along the last (NHWC) axis after the layout pass
    return np.broadcast_to(slope.reshape(-1), (channels,)).astype(np.float64)


def _prelu_spec(flat: np.ndarray) -> list:
    return ["PRelu", flat.tolist(), bool(np.all((flat >= 0) & (flat <= 1)))]


def _absorb(graph: Graph, producer: Node, tail: Node) -> None:
    """Remove `tail` (the producer's only consumer) and give its output to the producer."""
    y = producer.outputs[0]
    dtype = graph.value(y).dtype
    graph.remove_node(tail)
    graph.rename_output(producer, y, tail.outputs[0])
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


def _fuse_activation(graph: Graph, conv: Node) -> bool:
    y = conv.outputs[0]
    users = graph.consumers(y)
    if len(users) != 1 or y in graph.outputs:
        return False
    act = users[0]
    if act.domain or act.op_type not in ACTIVATIONS or act.inputs[0] != y or len([o for o in act.outputs if o]) != 1:
        return False
    channels = graph.value(conv.inputs[1]).const.shape[0]
    spec = _activation(graph, act, channels)
    if spec is None:
        return False
    _absorb(graph, conv, act)
    conv.attrs = dict(conv.attrs, activation=spec)
    return True


# Elementwise activations (no per-channel parameters): act(Concat(a, b)) == Concat(act(a), act(b)) on any axis.
_DISTRIBUTIVE = ("Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSwish")


def _part_specs(graph: Graph, act: Node, cat: Node, convs: list[Node]) -> list | None:
    """Each conv's share of the activation: the same spec, or for a PRelu after a channel Concat (a grouped
    conv split by passes/grouped.py) the slopes of that conv's channels."""
    channels = [graph.value(c.inputs[1]).const.shape[0] for c in convs]
    if act.op_type != "PRelu":
        return [_activation(graph, act, n) for n in channels]
    shape = graph.value(cat.outputs[0]).shape
    if shape is None or int(cat.attrs.get("axis", 0)) % len(shape) != len(shape) - 1:
        return None
    flat = _prelu_slopes(graph, act, sum(channels))
    if flat is None:
        return None
    starts = np.cumsum([0, *channels])
    return [_prelu_spec(flat[a:b]) for a, b in zip(starts[:-1], starts[1:])]


def _activation_into_concat(graph: Graph) -> int:
    """act(Concat(conv, conv, ...)) -> Concat(conv+act, ...): RetinaFace's SSH modules, one pass over memory fewer."""
    moved = 0
    for act in graph.topo_order():
        if act.domain or act.op_type not in (*_DISTRIBUTIVE, "PRelu") or len([o for o in act.outputs if o]) != 1:
            continue
        cat = graph.producer(act.inputs[0])
        if cat is None or cat.domain or cat.op_type != "Concat" or act.inputs[0] in graph.outputs:
            continue
        if len(graph.consumers(cat.outputs[0])) != 1 or len(set(cat.inputs)) != len(cat.inputs):
            continue
        convs = [graph.producer(i) for i in cat.inputs]
        if not all(
            c is not None and c.domain == NHWC_DOMAIN and c.op_type == "Conv" and not c.attrs.get("activation")
            and len(c.outputs) == 1 and len(graph.consumers(c.outputs[0])) == 1 and c.outputs[0] not in graph.outputs
            for c in convs
        ):  # fmt: skip
            continue
        specs = _part_specs(graph, act, cat, convs)
        if specs is None or any(spec is None for spec in specs):
            continue
        for c, spec in zip(convs, specs):
            c.attrs = dict(c.attrs, activation=spec)
        _absorb(graph, cat, act)
        moved += 1
    return moved


def fuse_epilogues(graph: Graph, residuals: bool = False) -> int:
    """Returns the number of tails (residual Adds and activations) folded into convs.

    residuals=True folds Adds into convs with the native strategy (the only
    lowering where that saves a pass over memory): an Add right after the conv
    goes before the activation; an Add after the activation (FPN merges:
    act(conv) + upsampled) goes after it (attrs["residual_after"]).
    """
    fused = _activation_into_concat(graph)
    for conv in graph.topo_order():
        if conv.domain != NHWC_DOMAIN or conv.op_type != "Conv":
            continue
        native = residuals and conv.attrs.get("strategy") == "native"
        if not conv.attrs.get("activation"):
            if native and _fuse_residual(graph, conv):
                fused += 1
            if _fuse_silu(graph, conv) or _fuse_activation(graph, conv):
                fused += 1
        if native and conv.attrs.get("activation") and len(conv.inputs) <= 3 and _fuse_residual(graph, conv):
            conv.attrs = dict(conv.attrs, residual_after=True)
            fused += 1
    return fused
