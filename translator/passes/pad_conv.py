"""A zero `Pad` of the spatial dims whose only reader is a `Conv` -> the conv's own pads.

TensorFlow exports (tf2onnx's SAME padding before strided convs, XSeg's BlurPool) and MediaPipe's
FaceMesh pad explicitly: a full copy of the map on one thread, then a conv that could have padded
while it read. The conv's pads absorb it, and the native kernels pad on the fly.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node


def _const(graph: Graph, name: str) -> np.ndarray | None:
    return graph.value(name).const if name else None


def _spatial_pads(graph: Graph, pad: Node) -> list[int] | None:
    """The Pad's (begin..., end...) amounts on the spatial dims of a 4-D input, if it is a zero constant
    pad of those dims only; else None."""
    if pad.domain or pad.op_type != "Pad" or len(pad.outputs) != 1:
        return None
    x = graph.value(pad.inputs[0])
    if x.shape is None or len(x.shape) != 4:
        return None
    mode = pad.attrs.get("mode", "constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "constant":
        return None
    if graph.opset() < 11:
        pads, value, axes = pad.attrs.get("pads"), pad.attrs.get("value", 0.0), None
    else:
        ins = list(pad.inputs) + [""] * (4 - len(pad.inputs))
        pads = _const(graph, ins[1])
        if pads is None or (ins[2] and _const(graph, ins[2]) is None) or (ins[3] and _const(graph, ins[3]) is None):
            return None
        value = _const(graph, ins[2]) if ins[2] else 0.0
        axes = _const(graph, ins[3]) if ins[3] else None
    if pads is None or np.any(np.asarray(value) != 0):
        return None
    pads = [int(p) for p in np.asarray(pads).reshape(-1)]
    axes = list(range(4)) if axes is None else [int(a) % 4 for a in np.asarray(axes).reshape(-1)]
    if len(pads) != 2 * len(axes) or len(set(axes)) != len(axes):
        return None
    full = [0] * 8
    for i, a in enumerate(axes):
        full[a], full[4 + a] = pads[i], pads[len(axes) + i]
    if any(full[a] or full[4 + a] for a in (0, 1)) or any(p < 0 for p in full):
        return None
    return [full[2], full[3], full[6], full[7]]


def fold_pads_into_convs(graph: Graph) -> int:
    """Returns the number of Pad nodes folded."""
    folded = 0
    for pad in graph.topo_order():
        extra = _spatial_pads(graph, pad)
        if extra is None or pad.outputs[0] in graph.outputs:
            continue
        users = graph.consumers(pad.outputs[0])
        if len(users) != 1:
            continue
        conv = users[0]
        if (
            conv.domain
            or conv.op_type != "Conv"
            or conv.inputs[0] != pad.outputs[0]
            or pad.outputs[0] in conv.inputs[1:]
        ):
            continue
        if (conv.attrs.get("auto_pad") or "NOTSET") not in ("NOTSET", "VALID"):
            continue
        own = (
            [int(p) for p in conv.attrs.get("pads", [0, 0, 0, 0])]
            if conv.attrs.get("auto_pad", "NOTSET") != "VALID"
            else [0] * 4
        )
        conv.attrs = {k: v for k, v in conv.attrs.items() if k != "auto_pad"}
        conv.attrs["pads"] = [a + b for a, b in zip(own, extra)]
        graph.set_inputs(conv, [pad.inputs[0], *conv.inputs[1:]])
        graph.remove_node(pad)
        folded += 1
    return folded
