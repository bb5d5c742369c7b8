"""Fold an FPN's top-down Add into the native nearest upsampling that feeds it (YuNet's and SCRFD's necks).

An FPN level is `lateral + upsample(coarser level)`. Where the lateral map is a conv's output that nothing else
reads, passes/epilogue.py already adds the upsampled map in that conv's epilogue (RetinaFace). Where the lateral
map is also read elsewhere (YuNet's backbone stage outputs feed the next stage too), the Add stayed an MLX op:
one thread over the whole map (~200 us at 80x80x64). Here it becomes the upsampling's residual input
(`native.upsample_nearest(x, factors, residual=lateral)`): the sum is written in the upsampling's own
multi-threaded pass, and the upsampled map itself is never stored.

Only a native, float32 Upsample (factors other than 1x1) that the Add alone reads, whose other operand has
the Add's static output shape (no broadcasting). MLX_UNIFACE_UPSAMPLE_ADD=0 turns the pass off (an A/B switch).

Where the Add already went into a conv's epilogue (the lateral map is a conv's output: SCRFD's and RetinaFace's
necks; YOLOv5n's once passes/concat_conv.py convolves the coarse map), the conv reads the coarser map itself
as its residual, each output pixel adding its coarse pixel (`native.conv2d(..., residual_up=(fh, fw))`): the
upsampled map is never stored, and one op fewer runs. MLX_UNIFACE_RESIDUAL_UP=0 turns that off.
"""

from __future__ import annotations

import os

import numpy as np

from ..ir import Graph, Node
from .absorb import absorb, read_once
from .layout import NHWC_DOMAIN


def _upsample(graph: Graph, value: str) -> Node | None:
    """The native nearest upsampling producing `value`, read by one node only and not yet carrying a residual."""
    src = graph.producer(value)
    if src is None or src.domain != NHWC_DOMAIN or src.op_type != "Upsample" or not src.attrs.get("native"):
        return None
    if len([i for i in src.inputs if i]) != 1 or tuple(src.attrs.get("factors", (1, 1))) == (1, 1):
        return None
    if not read_once(graph, value):
        return None
    return src


def fuse_upsample_adds(graph: Graph) -> int:
    """Returns the number of Adds folded into their upsampling."""
    if os.environ.get("MLX_UNIFACE_UPSAMPLE_ADD", "1") == "0":
        return 0
    fused = 0
    for add in graph.topo_order():
        if add.name not in graph.g or add.domain or add.op_type != "Add" or len(add.inputs) != 2:
            continue
        out = graph.value(add.outputs[0])
        for i in (0, 1):
            up, other = _upsample(graph, add.inputs[i]), add.inputs[1 - i]
            if up is None:
                continue
            o = graph.value(other)
            if out.static_shape is None or o.static_shape != out.static_shape or o.dtype != np.float32:
                continue
            if graph.value(up.outputs[0]).static_shape != out.static_shape:
                continue
            absorb(graph, up, add, [up.inputs[0], other], dict(up.attrs))
            fused += 1
            break
    return fused


def _residual_input(conv: Node) -> int | None:
    """Where the residual sits among the inputs of a native dense conv with one (the GEMM runs it), or None."""
    if conv.domain != NHWC_DOMAIN or conv.attrs.get("strategy") != "native":
        return None
    if any(conv.attrs.get(a) for a in ("pool", "image_offset", "out_groups", "residual_up")):
        return None
    if int(conv.attrs.get("group", 1)) != 1 or not all(int(d) == 1 for d in conv.attrs.get("dilations", (1, 1))):
        return None
    at = {"Conv": 3, "ConcatConv": 2}.get(conv.op_type)  # ConcatConv: w, bias, residual, parts...
    return at if at is not None and len(conv.inputs) > at and conv.inputs[at] else None


def fold_upsampled_residuals(graph: Graph) -> int:
    """Returns the number of convs now reading their residual's coarser level."""
    if os.environ.get("MLX_UNIFACE_RESIDUAL_UP", "1") == "0":
        return 0
    folded = 0
    for conv in graph.topo_order():
        at = _residual_input(conv) if conv.name in graph.g else None
        if at is None:
            continue
        up = _upsample(graph, conv.inputs[at])
        if up is None:
            continue
        coarse, fine = graph.value(up.inputs[0]), graph.value(conv.outputs[0])
        fh, fw = (int(f) for f in up.attrs["factors"])
        if coarse.static_shape is None or fine.static_shape is None or coarse.dtype != np.float32:
            continue
        n, h, w, c = coarse.static_shape
        if fine.static_shape != (n, h * fh, w * fw, c):
            continue
        graph.remove_node(up)
        graph.remove_node(conv)
        inputs = list(conv.inputs)
        inputs[at] = up.inputs[0]
        graph.add_node(Node(conv.name, conv.op_type, NHWC_DOMAIN, inputs, list(conv.outputs),
                            {**conv.attrs, "residual_up": [fh, fw]}))  # fmt: skip
        folded += 1
    return folded
