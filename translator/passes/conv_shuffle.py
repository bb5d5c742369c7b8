"""Fuse a ShuffleNet unit's concat + channel shuffle into the native conv chain that makes its second branch.

YOLOv5n-Face's backbone is 16 ShuffleNet units. Each concatenates its pass-through half with its branch (1x1,
3x3 depthwise, 1x1: a `PointwiseDepthwise` node) and shuffles the channels, one `Interleave` node after
passes/shuffle.py; the next unit splits that map into halves again. The interleave read the branch's map
(written a moment before) and the other half back and wrote both, ~8% of the model's time. The fused call
(`native.pw_dw_conv2d(..., interleave_with=other)`) makes each block of the branch's last 1x1 output in a
per-thread buffer and stores it interleaved with the other half's pixels, so the branch's own map is never
written. The next unit's first 1x1 conv reads its half (a channel slice) in place, where it was copied out.

Only when the interleave's second part is the chain's output (with its last 1x1 conv, no residual, no pool)
and nothing else reads it, and both parts share a static shape. MLX_UNIFACE_CONV_SHUFFLE=0 turns the pass
off (an A/B switch).
"""

from __future__ import annotations

import os

import numpy as np

from ..ir import Graph, Node
from .absorb import absorb, read_once
from .conv_pool import POOL
from .layout import NHWC_DOMAIN
from .pw_dw import FUSED as PW_DW
from .shuffle import INTERLEAVE, INTERNAL_DOMAIN

# PointwiseDepthwise's inputs: x, w_pre, b_pre, w_dw, b_dw, w_pw, b_pw, residual, w_mid, b_mid, interleave_with
INTERLEAVE_WITH = 10


def _branch(graph: Graph, interleave: Node) -> Node | None:
    """The `PointwiseDepthwise` chain (with its last 1x1 conv, no residual or pool) whose output is the
    interleave's second part and read by nothing else."""
    if len(interleave.inputs) != 2:
        return None
    other, y = interleave.inputs
    src = graph.producer(y)
    if src is None or src.domain != NHWC_DOMAIN or src.op_type != PW_DW or src.attrs.get(POOL):
        return None
    ins = list(src.inputs) + [""] * (INTERLEAVE_WITH + 1 - len(src.inputs))
    if not ins[5] or ins[7] or ins[INTERLEAVE_WITH]:  # w_pw; no residual; not fused already
        return None
    if not read_once(graph, y):
        return None
    a, b = graph.value(other), graph.value(y)
    if a.static_shape is None or a.static_shape != b.static_shape or a.dtype != np.float32:
        return None
    return src


def fuse_conv_shuffles(graph: Graph) -> int:
    """Returns the number of interleaves fused into the convs making their second part."""
    if os.environ.get("MLX_UNIFACE_CONV_SHUFFLE", "1") == "0":
        return 0
    fused = 0
    for node in graph.topo_order():
        if node.name not in graph.g or node.domain != INTERNAL_DOMAIN or node.op_type != INTERLEAVE:
            continue
        src = _branch(graph, node)
        if src is None:
            continue
        inputs = list(src.inputs) + [""] * (INTERLEAVE_WITH - len(src.inputs)) + [node.inputs[0]]
        absorb(graph, src, node, inputs, dict(src.attrs))
        fused += 1
    return fused
