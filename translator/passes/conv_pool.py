"""Fuse a 2x2 stride-2 max pool into the native depthwise conv that alone feeds it (YuNet's backbone).

YuNet ends two stages with a 3x3 depthwise conv and a 2x2 max pool: its stem chain (stem, 1x1, depthwise: a
`PointwiseDepthwise` node) at 320x320x16 and a depthwise conv at 160x160x64, each a 6.5 MB map written by
the conv and read back by the pool. The fused call (`native.conv2d(..., pool=True)` or
`native.pw_dw_conv2d(..., pool=True)`) makes two conv rows at a time in a per-thread buffer and stores only
their pooled row, a quarter of the bytes, and the pool's pass over the map is gone.

Only when the conv's output height and width are even (the windows tile it exactly, ceil_mode or not),
with no residual and no 1x1 conv after the depthwise one, and nothing else reads the conv's output.
MLX_UNIFACE_CONV_POOL=0 turns the pass off (an A/B switch).

Measured (one process, alternating, AVX-512, 2 threads): the kernel alone 0.68-0.76x the time of the conv
and the pool at 80x80x64, 160x160x64 and 320x320x16.
"""

from __future__ import annotations

import os

from ..ir import Graph, Node
from .absorb import absorb, read_once
from .dw_pw import native_of_kind
from .layout import NHWC_DOMAIN
from .pw_dw import FUSED as PW_DW

POOL = "pool"  # the conv node's attribute: its output is the 2x2 stride-2 max pool of the conv's


def _pool2(node: Node) -> bool:
    """An NHWC 2x2 stride-2 max pool without padding, dilation or indices output."""
    a = node.attrs
    return (
        node.domain == NHWC_DOMAIN
        and node.op_type == "MaxPool"
        and len([o for o in node.outputs if o]) == 1
        and [int(k) for k in a.get("kernel_shape", [])] == [2, 2]
        and [int(s) for s in a.get("strides", [1, 1])] == [2, 2]
        and a.get("auto_pad", "NOTSET") in ("NOTSET", "VALID")
        and not any(int(p) for p in a.get("pads", [0, 0, 0, 0]))
        and [int(d) for d in a.get("dilations", [1, 1])] == [1, 1]
    )


def _depthwise_source(graph: Graph, pool: Node) -> Node | None:
    """The native depthwise conv (plain, or a `PointwiseDepthwise` chain ending in it) the pool alone reads,
    with an even output size, no residual and nothing after the depthwise conv."""
    x = pool.inputs[0]
    src = graph.producer(x)
    if src is None or not read_once(graph, x) or src.attrs.get(POOL):
        return None
    if native_of_kind(graph, src, "depthwise"):
        if [int(d) for d in src.attrs.get("dilations", [1, 1])] != [1, 1] or (len(src.inputs) > 3 and src.inputs[3]):
            return None
    elif src.domain == NHWC_DOMAIN and src.op_type == PW_DW:
        if any(len(src.inputs) > i and src.inputs[i] for i in (5, 6, 7)):  # w_pw, b_pw, residual
            return None
    else:
        return None
    shape = graph.value(x).static_shape
    if shape is None or len(shape) != 4 or shape[1] % 2 or shape[2] % 2 or min(shape[1:3]) < 2:
        return None
    return src


def fuse_conv_max_pools(graph: Graph) -> int:
    """Returns the number of pools fused into their convs."""
    if os.environ.get("MLX_UNIFACE_CONV_POOL", "1") == "0":
        return 0
    fused = 0
    for pool in graph.topo_order():
        if pool.name not in graph.g or not _pool2(pool):
            continue
        src = _depthwise_source(graph, pool)
        if src is None:
            continue
        absorb(graph, src, pool, list(src.inputs), {**src.attrs, POOL: True})
        fused += 1
    return fused
