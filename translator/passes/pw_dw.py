"""Fuse a native 1x1 conv with the depthwise conv that alone reads its output (YuNet's block: 1x1, then 3x3).

The depthwise conv may already carry its own 1x1 conv (a `DepthwisePointwise` node from passes/dw_pw.py):
the chain becomes one `PointwiseDepthwise` node, lowered to opset.native.pw_dw_conv2d, which makes the first
1x1 conv's output a band of rows (with the depthwise halo) at a time in a per-thread buffer, so that map
(6.5 MB for YuNet's first block at 640x640) is never written and read back. Each conv keeps its bias and
activation; the last one its residual. MLX_UNIFACE_PW_DW=0 turns the pass off (an A/B switch).

Measured (tools/bench.py --ab MLX_UNIFACE_PW_DW=0,1, one process): YuNet 0.86x the time on one thread,
0.97x on two; YOLOv5n 1.00x and 1.04x (noise on this shared machine is about 5%). Fusing only maps larger
than 512 KB (smaller ones stay in the cache between two kernels) measured slower than fusing every one.

The first conv may also be a network's stem, a dense conv on 1-4 channels (SCRFD's and RetinaFace's 3x3
stride-2 stem, then their first depthwise conv): the kernel then makes the stem's rows with the stem
kernel, reading the NCHW input in place or the 8-bit image itself (a stem passes/image_input.py folded the
input normalization into: float(x) - offset per channel, as native.image_conv2d reads it), and the stem's
map (6.5 MB for SCRFD at 640x640) is never written. A stem may also be followed by a 1x1 conv that alone
reads it (YuNet: 3x3 stride-2 stem 3 -> 16, 1x1 16 -> 16, 3x3 depthwise): the kernel then makes the stem's
rows a few at a time in a second, L1-sized buffer and runs the 1x1 conv over them into the band the
depthwise conv reads, so neither 6.5 MB map is written. MLX_UNIFACE_STEM_DW=0 leaves stems alone,
MLX_UNIFACE_STEM_CHAIN=0 only the stem -> 1x1 chains (A/B switches).

Measured (2 vCPUs, tools/bench.py --ab MLX_UNIFACE_STEM_DW=0,1 --ab-image and --ab MLX_UNIFACE_STEM_CHAIN=0,1,
100 runs each, two repetitions; YOLOv5n, which none of this touches, moved 0.94-1.03x: the noise): with
the image in, YuNet 0.91-0.96x the time on one thread, 0.93-0.96x on two; SCRFD 0.965x on one thread,
0.95-1.01x on two; RetinaFace (an 8-channel stem: half the map) 1.00x on both. YuNet with the tensor in
(the float stem chain) 0.965x on one thread, 0.92-0.96x on two. Its first block alone (stem, 1x1, depthwise
and 1x1 at 640x640) 0.84x on one thread, 0.94x on two; SCRFD's image stem block 0.90x and 0.98x: a stem is
compute-bound (a 3x3 on 3 channels to 16 is 88 MFLOP at 640x640), so only its map's traffic is saved.
"""

from __future__ import annotations

import os

from ..ir import Graph, Node
from .dw_pw import FUSED as DW_PW
from .dw_pw import native_of_kind, plain_pointwise
from .image_input import OFFSET
from .layout import NHWC_DOMAIN

FUSED = "PointwiseDepthwise"
MAX_STEM_CHANNELS = 4  # opset.native's stem kernels: gray, BGR, BGRA


def stem(graph: Graph, node: Node) -> bool:
    """A native dense conv on 1-4 channels with explicit pads, reading floats or the 8-bit image."""
    if not native_of_kind(graph, node, "dense"):
        return False
    _, kh, kw, c_in = graph.value(node.inputs[1]).const.shape  # (O, kh, kw, I): the NHWC domain's weight
    return (
        c_in <= MAX_STEM_CHANNELS
        and kh <= 8
        and kw <= 8
        and int(node.attrs.get("group", 1)) == 1
        and list(node.attrs.get("dilations", [1, 1])) == [1, 1]
        and node.attrs.get("auto_pad", "NOTSET") in ("NOTSET", "VALID")
        and node.attrs.get("winograd") is None
    )


def _depthwise_reader(graph: Graph, node: Node) -> bool:
    """A native depthwise conv, or one fused with its 1x1 conv."""
    return (node.domain == NHWC_DOMAIN and node.op_type == DW_PW) or native_of_kind(graph, node, "depthwise")


def _own_residual(node: Node) -> bool:
    return len(node.inputs) > 3 and bool(node.inputs[3])


def _sole_reader(graph: Graph, node: Node) -> Node | None:
    """The one node reading node's output, if only one does, as its first input and nowhere else, and the
    output is no graph output."""
    y = node.outputs[0]
    users = graph.consumers(y)
    if len(users) != 1 or y in graph.outputs:
        return None
    reader = users[0]
    return reader if reader.inputs[0] == y and y not in reader.inputs[1:] else None


def _depthwise_after(graph: Graph, node: Node) -> Node | None:
    """The depthwise conv (maybe fused with its 1x1 conv) that alone reads node's output."""
    dw = _sole_reader(graph, node)
    return dw if dw is not None and _depthwise_reader(graph, dw) else None


def _chain(graph: Graph, pre: Node, stems: bool, chains: bool) -> tuple[Node | None, Node] | None:
    """(the 1x1 conv between, or None; the depthwise conv) when pre starts a chain this pass fuses."""
    if _own_residual(pre):  # only the chain's last conv adds one
        return None
    if plain_pointwise(graph, pre) and pre.attrs.get(OFFSET) is None:
        dw = _depthwise_after(graph, pre)
        return None if dw is None else (None, dw)
    if not (stems and stem(graph, pre)):
        return None
    dw = _depthwise_after(graph, pre)
    if dw is not None:
        return None, dw
    mid = _sole_reader(graph, pre)
    if not chains or mid is None or not plain_pointwise(graph, mid) or _own_residual(mid):
        return None
    dw = _depthwise_after(graph, mid)
    return None if dw is None else (mid, dw)


def fuse_pointwise_depthwise(graph: Graph) -> int:
    """Returns the number of chains fused."""
    if os.environ.get("MLX_UNIFACE_PW_DW", "1") == "0":
        return 0
    stems = os.environ.get("MLX_UNIFACE_STEM_DW", "1") != "0"
    chains = os.environ.get("MLX_UNIFACE_STEM_CHAIN", "1") != "0"
    fused = 0
    for pre in graph.topo_order():
        if pre.name not in graph.g:
            continue
        found = _chain(graph, pre, stems, chains)
        if found is None:
            continue
        mid, dw = found
        pre_inputs = list(pre.inputs) + [""] * (3 - len(pre.inputs))
        if dw.op_type == DW_PW:  # x, w_dw, b_dw, w_pw, b_pw, [residual]
            rest = list(dw.inputs[1:]) + [""] * (6 - len(dw.inputs))
        else:  # x, w_dw, [b_dw], [residual]
            dw_inputs = list(dw.inputs) + [""] * (4 - len(dw.inputs))
            rest = [dw_inputs[1], dw_inputs[2], "", "", dw_inputs[3]]
        attrs = dict(dw.attrs)
        if pre.attrs.get("activation"):
            attrs["pre_activation"] = pre.attrs["activation"]
        if not plain_pointwise(graph, pre) or mid is not None or pre.attrs.get(OFFSET) is not None:
            attrs["pre_strides"] = [int(v) for v in pre.attrs.get("strides", [1, 1])]
            pads = pre.attrs.get("pads", [0, 0, 0, 0]) if pre.attrs.get("auto_pad", "NOTSET") == "NOTSET" else [0] * 4
            attrs["pre_pads"] = [int(v) for v in pads]
        if pre.attrs.get(OFFSET) is not None:
            attrs[OFFSET] = list(pre.attrs[OFFSET])
        mid_inputs: list[str] = []
        if mid is not None:
            mid_inputs = (list(mid.inputs) + [""] * (3 - len(mid.inputs)))[1:3]
            if mid.attrs.get("activation"):
                attrs["mid_activation"] = mid.attrs["activation"]
            graph.remove_node(mid)
        graph.remove_node(dw)
        graph.remove_node(pre)
        inputs = [pre_inputs[0], pre_inputs[1], pre_inputs[2], *rest, *mid_inputs]
        while inputs and not inputs[-1]:
            inputs.pop()
        name = f"{pre.name}_{mid.name}_{dw.name}" if mid is not None else f"{pre.name}_{dw.name}"
        graph.add_node(Node(graph.fresh_name(name), FUSED, NHWC_DOMAIN, inputs, list(dw.outputs), attrs))
        fused += 1
    return fused
