"""A native conv over a channel Concat becomes a chain of convs over its parts, summed through residuals.

conv(Concat(a, b, c), W) == conv(a, W_a) + conv(b, W_b) + conv(c, W_c), with W
split along its input channels. RetinaFace's SSH modules concatenate three
branches only to feed them to the heads; MLX's Concat copies the whole map on
one thread, while each native conv adds its predecessor's output in its
epilogue: y1 = conv(a, W_a) + bias, y2 = conv(b, W_b) + y1, y3 =
act(conv(c, W_c) + y2). The map is never assembled.

A Concat read by several convs (YOLOv5n's C3 blocks: two 1x1 convs read each
neck Concat) is split for each of them, as long as convs are all that read it.

A part that is a nearest upsampling of a coarser map, read by a 1x1 conv, is
convolved before it is upsampled: a 1x1 conv commutes with nearest upsampling,
so conv(up(a), W_a) == up(conv(a, W_a)), at a quarter of the multiply-adds
for a 2x2 upsampling, and the upsampling (native, with the chain's previous
sum as its residual) writes only the conv's output channels. YOLOv5n's necks
upsample 64 channels to 80x80, concatenate them with 64 more, and read the
result with two 1x1 convs of 32 outputs each.

A 1x1 conv reads the remaining parts in place instead, as one `ConcatConv`
(`native.concat_conv2d`): the GEMM takes each pixel's channels from the parts,
so no partial sum is written and read back between chained convs (YOLOv5n's
C3 blocks end with a 1x1 conv over two 32-channel branches). Its parts' channel
counts must share a divisor of at least 8 (the kernel's segments).

A/B switches: MLX_UNIFACE_CONCAT_SHARED=0 leaves Concats read by more than one conv alone,
MLX_UNIFACE_CONCAT_LOW_RES=0 turns the upsampled parts' rewrite off, MLX_UNIFACE_CONCAT_PARTS=0 chains
convs instead of a ConcatConv.
"""

from __future__ import annotations

import os

import numpy as np

from ..ir import Graph, Node, Value
from .layout import NHWC_DOMAIN

Part = tuple[str, int]  # (input of the Concat, its channels)
CONCAT_CONV = "ConcatConv"  # NHWC domain; inputs w (OHWI), [bias], [residual], parts...; lowering: native.concat_conv2d


def _splittable(graph: Graph, conv: Node) -> bool:
    """A native NHWC conv without groups or a residual of its own."""
    if conv.domain != NHWC_DOMAIN or conv.op_type != "Conv" or conv.attrs.get("strategy") != "native":
        return False
    return (
        int(conv.attrs.get("group", 1)) == 1 and len(conv.inputs) <= 3 and graph.value(conv.inputs[1]).const is not None
    )


def _parts(graph: Graph, cat: Node) -> list[Part] | None:
    """(input, channels) of a channel Concat of static 4-d maps, or None."""
    if cat.domain or cat.op_type != "Concat" or cat.outputs[0] in graph.outputs:
        return None
    if cat.attrs.get("axis", 0) not in (3, -1) or len(cat.inputs) < 2 or not all(cat.inputs):
        return None
    parts = []
    for name in cat.inputs:
        shape = graph.value(name).static_shape
        if shape is None or len(shape) != 4 or graph.value(name).const is not None:
            return None
        parts.append((name, shape[3]))
    return parts


def _pointwise(graph: Graph, conv: Node) -> bool:
    w = graph.value(conv.inputs[1]).const  # OHWI
    return (
        w.shape[1:3] == (1, 1)
        and all(int(s) == 1 for s in conv.attrs.get("strides", (1, 1)))
        and not any(int(p) for p in conv.attrs.get("pads", (0, 0, 0, 0)))
        and all(int(d) == 1 for d in conv.attrs.get("dilations", (1, 1)))
    )


def _upsampled(graph: Graph, name: str) -> tuple[str, list[int]] | None:
    """(coarser map, factors) when `name` is a native nearest upsampling of a static float32 map."""
    up = graph.producer(name)
    if up is None or up.domain != NHWC_DOMAIN or up.op_type != "Upsample" or not up.attrs.get("native"):
        return None
    if len([i for i in up.inputs if i]) != 1:
        return None
    fh, fw = (int(f) for f in up.attrs.get("factors", (1, 1)))
    src = graph.value(up.inputs[0])
    shape, out = src.static_shape, graph.value(name).static_shape
    if shape is None or src.dtype is None or np.dtype(src.dtype) != np.float32 or (fh, fw) == (1, 1):
        return None
    if out != (shape[0], shape[1] * fh, shape[2] * fw, shape[3]):
        return None
    return up.inputs[0], [fh, fw]


def _split(graph: Graph, conv: Node, parts: list[Part]) -> None:
    w = graph.value(conv.inputs[1]).const  # OHWI
    bias = conv.inputs[2] if len(conv.inputs) > 2 else ""
    out = conv.outputs[0]
    out_value = graph.value(out)
    graph.remove_node(conv)
    # by position: a Concat may read one value twice, each time with its own slice of W
    starts = [int(v) for v in np.cumsum([0] + [c for _, c in parts[:-1]])]
    low_res = {}
    if os.environ.get("MLX_UNIFACE_CONCAT_LOW_RES", "1") != "0" and _pointwise(graph, conv):
        low_res = {i: up for i, (name, _) in enumerate(parts) if (up := _upsampled(graph, name)) is not None}
    # upsampled parts first: an upsampling cannot apply the activation, so the chain must end on a conv
    order = [i for i in range(len(parts)) if i in low_res] + [i for i in range(len(parts)) if i not in low_res]
    if order[-1] in low_res:
        low_res.pop(order[-1])
    base_attrs = {k: v for k, v in conv.attrs.items() if k not in ("activation", "residual_after")}
    previous = ""
    regular = [i for i in order if i not in low_res]
    parts_on = os.environ.get("MLX_UNIFACE_CONCAT_PARTS", "1") != "0"
    if parts_on and len(regular) > 1 and _pointwise(graph, conv) and _reads_in_place([parts[i][1] for i in regular]):
        order = order[: len(order) - len(regular)]  # the upsampled parts; the others go into one ConcatConv
    else:
        regular = []
    for step, i in enumerate(order):
        name, channels = parts[i]
        last = not regular and step == len(order) - 1
        w_part = np.ascontiguousarray(w[..., starts[i] : starts[i] + channels])
        w_name = graph.fresh_name(f"{conv.name}_w{step}")
        graph.add_value(Value(w_name, w_part.dtype, w_part.shape, w_part))
        y = out if last else graph.fresh_name(f"{conv.name}_part{step}")
        attrs = dict(conv.attrs if last else base_attrs)  # each node its own dict (tune edits them in place)
        first_bias = bias if step == 0 else ""
        if i in low_res:
            coarse, factors = low_res[i]
            n, h, w_, _ = graph.value(coarse).static_shape
            t = graph.fresh_name(f"{conv.name}_coarse{step}")
            graph.add_value(Value(t, out_value.dtype, (n, h, w_, w.shape[0])))
            graph.add_node(Node(graph.fresh_name(f"{conv.name}_coarse{step}"), "Conv", NHWC_DOMAIN,
                                [coarse, w_name, first_bias], [t], attrs))  # fmt: skip
            graph.add_value(Value(y, out_value.dtype, out_value.shape))
            graph.add_node(Node(graph.fresh_name(f"{conv.name}_up{step}"), "Upsample", NHWC_DOMAIN,
                                [t] + ([previous] if previous else []), [y], {"factors": factors, "native": True}))  # fmt: skip
        else:
            if not last:
                graph.add_value(Value(y, out_value.dtype, out_value.shape))
            inputs = [name, w_name, first_bias] + ([previous] if previous else [])
            graph.add_node(Node(graph.fresh_name(f"{conv.name}_part{step}"), "Conv", NHWC_DOMAIN, inputs, [y], attrs))
        previous = y
    if regular:
        w_parts = np.ascontiguousarray(
            np.concatenate([w[..., starts[i] : starts[i] + parts[i][1]] for i in regular], axis=3)
        )
        w_name = graph.fresh_name(f"{conv.name}_w_parts")
        graph.add_value(Value(w_name, w_parts.dtype, w_parts.shape, w_parts))
        inputs = [w_name, "" if previous else bias, previous] + [parts[i][0] for i in regular]
        graph.add_node(Node(graph.fresh_name(f"{conv.name}_parts"), CONCAT_CONV, NHWC_DOMAIN, inputs, [out],
                            dict(conv.attrs)))  # fmt: skip


def _reads_in_place(channels: list[int]) -> bool:
    """The native GEMM reads K as segments of one length (opset/native: at most 32): the parts' channel counts'
    greatest common divisor, at least 8 so each segment fills part of a vector."""
    seg = int(np.gcd.reduce(channels))
    return seg >= 8 and sum(channels) // seg <= 32


def _drop_if_unread(graph: Graph, node: Node | None) -> None:
    """Remove a node nothing reads any more, so later passes' read-once checks do not count it."""
    if (
        node is not None
        and node.name in graph.g
        and not any(graph.consumers(o) or o in graph.outputs for o in node.outputs)
    ):
        graph.remove_node(node)


def split_concat_convs(graph: Graph) -> int:
    """Returns the number of Concats no longer assembled."""
    shared = os.environ.get("MLX_UNIFACE_CONCAT_SHARED", "1") != "0"
    done = 0
    for cat in graph.topo_order():
        if cat.name not in graph.g:
            continue
        parts = _parts(graph, cat)
        if parts is None:
            continue
        convs = graph.consumers(cat.outputs[0])
        if not convs or not all(_splittable(graph, c) for c in convs) or (len(convs) > 1 and not shared):
            continue
        if any(graph.value(c.inputs[1]).const.shape[3] != sum(ch for _, ch in parts) for c in convs):
            continue
        ups = [graph.producer(name) for name, _ in parts]
        for conv in convs:
            _split(graph, conv, parts)
        graph.remove_node(cat)
        for up in ups:
            if up is not None and up.op_type == "Upsample":
                _drop_if_unread(graph, up)
        done += 1
    return done
